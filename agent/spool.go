package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/runbooker/runbooker"
)

// Spool makes a Transport survive control-plane outages: records and final
// statuses are appended to a per-attempt journal on disk and delivered in
// order by a background sender that retries until the server takes them.
// The server ignores records it already has (same sequence number) and a
// repeated finish, so redelivery after a crash stores everything exactly
// once. Claims, starts and heartbeats pass straight through. Over a
// FinishClaimer, FinishAndClaim delivers the finish at once when it can,
// with a claim of the slot's next job.
type Spool struct {
	Transport
	dir string
	log *slog.Logger

	mu       sync.Mutex
	senders  map[string]*sender // by journal file name
	finishes *finishLog         // finishes delivered at once (FinishAndClaim)
	wg       sync.WaitGroup
	ctx      context.Context
	cancel   context.CancelFunc
}

// entry is one journal line.
type entry struct {
	Records []runbooker.StreamRecord `json:"r,omitempty"`
	Finish  *runbooker.FinishParams  `json:"f,omitempty"`
}

type sender struct {
	name string
	ref  runbooker.JobRef
	path string
	wake chan struct{}
	mu   sync.Mutex // guards appends to the file
	size int64      // the journal's length (mu)

	sendMu sync.Mutex    // held while delivering: one delivery at a time
	off    int64         // how far the journal was delivered (sendMu)
	closed bool          // delivered or dropped for good (sendMu)
	gone   chan struct{} // closed with closed
}

// OpenSpool opens (creating) the journal directory and resumes delivery of
// every journal left by a previous run.
func OpenSpool(dir string, t Transport, log *slog.Logger) (*Spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Spool{Transport: t, dir: dir, log: log, senders: map[string]*sender{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	names, err := filepath.Glob(filepath.Join(dir, "*.journal"))
	if err != nil {
		return nil, err
	}
	for _, p := range names {
		base := strings.TrimSuffix(filepath.Base(p), ".journal")
		id, att, ok := strings.Cut(base, "_")
		n, err := strconv.Atoi(att)
		if !ok || err != nil {
			continue
		}
		s.sender(runbooker.JobRef{ID: id, Attempt: n}).poke()
	}
	// Finishes whose delivery a crash interrupted go to their attempts'
	// journals, and are delivered as those are.
	fl, undelivered, err := openFinishLog(filepath.Join(dir, "finishes.log"))
	if err != nil {
		s.Close()
		return nil, err
	}
	s.finishes = fl
	for _, p := range undelivered {
		if err := s.journal(p.Ref, entry{Finish: &p}); err != nil {
			s.Close()
			return nil, err
		}
	}
	if len(undelivered) > 0 {
		if err := fl.restart(); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// Close stops delivery; undelivered journals stay for the next run.
func (s *Spool) Close() {
	s.cancel()
	s.wg.Wait()
	if s.finishes != nil {
		s.finishes.close()
	}
}

// Pending returns how many attempts still have undelivered reports.
func (s *Spool) Pending() int {
	s.mu.Lock()
	n := len(s.senders)
	s.mu.Unlock()
	return n + s.finishes.pending()
}

func (s *Spool) sender(ref runbooker.JobRef) *sender {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := journalKey(ref)
	if x, ok := s.senders[name]; ok {
		return x
	}
	x := &sender{name: name, ref: ref, path: filepath.Join(s.dir, name+".journal"), wake: make(chan struct{}, 1), gone: make(chan struct{})}
	if b, err := os.ReadFile(x.offPath()); err == nil {
		x.off, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	}
	if st, err := os.Stat(x.path); err == nil {
		x.size = st.Size()
	}
	s.senders[name] = x
	s.wg.Add(1)
	go s.deliver(x)
	return x
}

// offPath is the side file that keeps how far the journal was delivered.
func (x *sender) offPath() string { return strings.TrimSuffix(x.path, ".journal") + ".offset" }

func (x *sender) poke() {
	select {
	case x.wake <- struct{}{}:
	default:
	}
}

func (s *Spool) journal(ref runbooker.JobRef, e entry) error {
	x, err := s.senderFor(ref)
	if err == nil {
		err = x.write(e)
	}
	if err == nil {
		x.poke()
	}
	return err
}

// senderFor is the sender of ref's journal.
func (s *Spool) senderFor(ref runbooker.JobRef) (*sender, error) {
	if err := journalName(ref); err != nil {
		return nil, err
	}
	return s.sender(ref), nil
}

// journalName checks that ref can name a journal file.
func journalName(ref runbooker.JobRef) error {
	if strings.ContainsAny(ref.ID, `/\_`) || ref.ID == "" {
		return runbooker.Errorf(runbooker.EINVALID, "job id %q cannot name a journal", ref.ID)
	}
	return nil
}

// journaled reports whether ref has a journal (a sender): every journal
// on disk got one at OpenSpool, and every journal written since was
// written through one.
func (s *Spool) journaled(ref runbooker.JobRef) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.senders[journalKey(ref)]
	return ok
}

// journalKey names ref's journal (its file, without the extension) and its
// sender.
func journalKey(ref runbooker.JobRef) string { return fmt.Sprintf("%s_%d", ref.ID, ref.Attempt) }

// write appends e to the journal, without waking its delivery.
func (x *sender) write(e entry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	x.mu.Lock()
	f, err := os.OpenFile(x.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err == nil {
		var n int
		n, err = f.Write(append(line, '\n'))
		x.size += int64(n)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	x.mu.Unlock()
	if err != nil {
		return fmt.Errorf("journaling reports of job %s: %w", x.ref.ID, err)
	}
	return nil
}

// Append journals records; they reach the server in order, eventually.
func (s *Spool) Append(ctx context.Context, ref runbooker.JobRef, recs []runbooker.StreamRecord) error {
	return s.journal(ref, entry{Records: recs})
}

// Finish journals the final status after every record of the attempt.
func (s *Spool) Finish(ctx context.Context, p runbooker.FinishParams) error {
	return s.journal(p.Ref, entry{Finish: &p})
}

// FinishAndClaim implements FinishClaimer over a transport that is one:
// the finish is journaled first, then delivered at once, with whatever
// records are still undelivered, in a call that also claims up to limit
// jobs. When that call fails, the journal is delivered as Finish delivers
// it, and no job is claimed; the error is returned only when the server
// refused the finish for good.
func (s *Spool) FinishAndClaim(ctx context.Context, p runbooker.FinishParams, limit int) ([]runbooker.Assignment, error) {
	fc, ok := s.Transport.(FinishClaimer)
	if !ok {
		return nil, s.Finish(ctx, p)
	}
	if err := journalName(p.Ref); err != nil {
		return nil, err
	}
	if !s.journaled(p.Ref) {
		return s.finishAlone(ctx, fc, p, limit)
	}
	x := s.sender(p.Ref)
	// The finish is journaled while no delivery runs, so that this call
	// is the one that sends it.
	x.sendMu.Lock()
	defer x.sendMu.Unlock()
	if x.closed { // the attempt's reports were refused for good meanwhile
		return nil, s.Finish(ctx, p)
	}
	x.mu.Lock()
	alone := x.off == x.size // everything journaled before was delivered
	x.mu.Unlock()
	if err := x.write(entry{Finish: &p}); err != nil {
		return nil, err
	}
	var jobs []runbooker.Assignment
	send := func(fp runbooker.FinishParams) error {
		var err error
		jobs, err = fc.FinishAndClaim(ctx, fp, limit)
		return err
	}
	var err error
	if alone {
		// The finish is all there is to deliver: no need to read it back.
		err = send(p)
		if err == nil || isFinal(err) {
			s.drop(x, err)
		}
	} else {
		_, err = s.step(x, send)
	}
	if !x.closed {
		x.poke() // the delivery goes on, retrying
	}
	if err != nil && !isFinal(err) {
		// The finish is journaled and its delivery retries, as Finish's
		// would: only the claim did not happen.
		s.log.Debug("finish not delivered at once; the journal retries", "job", p.Ref.ID, "err", err)
		return jobs, nil
	}
	return jobs, err
}

// finishAlone is FinishAndClaim for an attempt with nothing journaled:
// the finish is logged in the finish log, delivered with a claim, and
// marked delivered. Not delivered, it moves to its attempt's journal,
// whose delivery retries (and claims nothing).
func (s *Spool) finishAlone(ctx context.Context, fc FinishClaimer, p runbooker.FinishParams, limit int) ([]runbooker.Assignment, error) {
	if err := s.finishes.begin(p); err != nil {
		return nil, err
	}
	jobs, err := fc.FinishAndClaim(ctx, p, limit)
	switch {
	case err == nil:
	case isFinal(err):
		s.log.Warn("job reports refused; dropping them", "job", p.Ref.ID, "attempt", p.Ref.Attempt, "err", err)
	default:
		if jerr := s.journal(p.Ref, entry{Finish: &p}); jerr != nil {
			// Still in the finish log: the next start moves it.
			return jobs, jerr
		}
		s.log.Debug("finish not delivered at once; the journal retries", "job", p.Ref.ID, "err", err)
		err = nil
	}
	s.finishes.end(p.Ref)
	return jobs, err
}

// deliver sends a journal's entries in order from the last delivered
// offset (kept in a side file), retrying while the server is unreachable.
func (s *Spool) deliver(x *sender) {
	defer s.wg.Done()
	backoff := 100 * time.Millisecond
	for {
		x.sendMu.Lock()
		if x.closed {
			x.sendMu.Unlock()
			return
		}
		progressed, err := s.step(x, func(p runbooker.FinishParams) error { return s.Transport.Finish(s.ctx, p) })
		closed := x.closed
		x.sendMu.Unlock()
		if closed {
			return
		}
		if progressed {
			backoff = 100 * time.Millisecond
		}
		wait := time.Duration(0)
		if err != nil {
			wait = backoff
			backoff = min(backoff*2, 2*time.Second)
		}
		if wait > 0 {
			select {
			case <-s.ctx.Done():
				return
			case <-x.gone:
				return
			case <-time.After(wait):
			}
			continue
		}
		select {
		case <-s.ctx.Done():
			return
		case <-x.gone:
			return
		case <-x.wake:
		}
	}
}

// step delivers what the journal holds past x.off, the finish through
// finish, and keeps the offset reached. Once the finish was delivered, or
// the server refused the reports for good, the journal is removed and x
// closed. Must hold x.sendMu.
func (s *Spool) step(x *sender, finish func(runbooker.FinishParams) error) (progressed bool, err error) {
	done, n, err := s.sendFrom(x, x.off, finish)
	if done || (err != nil && isFinal(err)) {
		s.drop(x, err)
		return true, err
	}
	if n > x.off {
		x.off, progressed = n, true
		_ = os.WriteFile(x.offPath(), []byte(strconv.FormatInt(n, 10)), 0o600)
	}
	return progressed, err
}

// drop ends a journal whose finish was delivered (err nil) or whose
// reports the server refused for good (err): its files go and x closes.
// Must hold x.sendMu.
func (s *Spool) drop(x *sender, err error) {
	if err != nil {
		s.log.Warn("job reports refused; dropping them", "job", x.ref.ID, "attempt", x.ref.Attempt, "err", err)
	}
	s.mu.Lock()
	delete(s.senders, x.name)
	s.mu.Unlock()
	_ = os.Remove(x.path)
	if x.off > 0 {
		_ = os.Remove(x.offPath())
	}
	x.closed = true
	close(x.gone)
}

// isFinal tells errors that retrying cannot fix: the attempt was fenced off
// or the server rejects the report.
func isFinal(err error) bool {
	switch runbooker.ErrorCode(err) {
	case runbooker.ECONFLICT, runbooker.ENOTFOUND, runbooker.EINVALID, runbooker.EFORBIDDEN,
		runbooker.EUNAUTHORIZED: // a removed worker's reports can never be accepted
		return true
	}
	return false
}

// maxBatch bounds the records sent in one call when catching up.
const maxBatch = 5000

// sendFrom sends the journal's complete lines from offset off, merging
// consecutive record entries (and trailing records into the finish). It
// returns whether the finish was delivered and the offset reached.
func (s *Spool) sendFrom(x *sender, off int64, finish func(runbooker.FinishParams) error) (bool, int64, error) {
	f, err := os.Open(x.path)
	if errors.Is(err, os.ErrNotExist) {
		return false, off, nil
	} else if err != nil {
		return false, off, err
	}
	defer f.Close()
	if _, err := f.Seek(off, 0); err != nil {
		return false, off, err
	}
	r := bufio.NewReaderSize(f, 1<<16)
	var batch []runbooker.StreamRecord
	batchEnd := off
	pos := off
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := s.Transport.Append(s.ctx, x.ref, batch); err != nil {
			return err
		}
		batch = nil
		off = batchEnd
		return nil
	}
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			// A partial last line is being written; it is sent next time.
			return false, off, flush()
		}
		pos += int64(len(line))
		var e entry
		if json.Unmarshal(line, &e) != nil {
			s.log.Warn("skipping a damaged journal line", "job", x.ref.ID)
			batchEnd = pos
			continue
		}
		if e.Finish != nil {
			p := *e.Finish
			p.Records = append(batch, p.Records...)
			if err := finish(p); err != nil {
				return false, off, err
			}
			return true, pos, nil
		}
		batch = append(batch, e.Records...)
		batchEnd = pos
		if len(batch) >= maxBatch {
			if err := flush(); err != nil {
				return false, off, err
			}
		}
	}
}
