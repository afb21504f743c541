package agent

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sync"

	"github.com/runbooker/runbooker"
)

// finishLog journals the finishes that Spool.FinishAndClaim delivers at
// once when nothing else of their attempt is journaled: a line before the
// delivery and a line after it, appended to one file. A journal file per
// attempt, created before a single call and removed after it, cost the
// worker about 0.1 ms of CPU a job in the filesystem (a remote worker's
// throughput figure, profiled). After a crash, a finish whose "delivered"
// line is missing moves to its attempt's journal (OpenSpool), whose
// delivery retries as any other's; the server takes a repeated finish as
// the same one.
type finishLog struct {
	mu   sync.Mutex
	f    *os.File
	size int64
	open int // finishes logged whose delivery has not ended yet
}

// finishLine is one line of the log: a finish about to be delivered, or
// the attempt whose finish was delivered (or moved to its journal).
type finishLine struct {
	Finish *runbooker.FinishParams `json:"f,omitempty"`
	Done   *runbooker.JobRef       `json:"d,omitempty"`
}

// finishLogCompact is the size past which the log starts over once no
// finish of it is open.
const finishLogCompact = 1 << 20

// openFinishLog opens the log at path and returns the finishes it holds
// that were logged but never marked delivered, in the order logged.
func openFinishLog(path string) (*finishLog, []runbooker.FinishParams, error) {
	var undelivered []runbooker.FinishParams
	if f, err := os.Open(path); err == nil {
		at := map[runbooker.JobRef]int{}
		var found []*runbooker.FinishParams
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 1<<16), 1<<30)
		for sc.Scan() {
			var l finishLine
			if json.Unmarshal(sc.Bytes(), &l) != nil {
				continue // a line cut short by a crash: its delivery never began
			}
			switch {
			case l.Finish != nil:
				at[l.Finish.Ref] = len(found)
				found = append(found, l.Finish)
			case l.Done != nil:
				if i, ok := at[*l.Done]; ok {
					found[i] = nil
					delete(at, *l.Done)
				}
			}
		}
		err := sc.Err()
		f.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("reading the finish log %s: %w", path, err)
		}
		for _, p := range found {
			if p != nil {
				undelivered = append(undelivered, *p)
			}
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return &finishLog{f: f, size: st.Size()}, undelivered, nil
}

// restart empties the log once what it held has moved elsewhere.
func (l *finishLog) restart() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	l.size = 0
	return nil
}

func (l *finishLog) append(line finishLine) error {
	b, err := json.Marshal(line)
	if err != nil {
		return err
	}
	n, err := l.f.Write(append(b, '\n'))
	l.size += int64(n)
	return err
}

// begin logs p before its delivery.
func (l *finishLog) begin(p runbooker.FinishParams) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.append(finishLine{Finish: &p}); err != nil {
		return fmt.Errorf("journaling the finish of job %s: %w", p.Ref.ID, err)
	}
	l.open++
	return nil
}

// end marks ref's finish delivered (or refused for good, or moved to its
// attempt's journal). A log with nothing open past finishLogCompact starts
// over. A failure to write the mark costs at most one repeated delivery.
func (l *finishLog) end(ref runbooker.JobRef) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.open == 0 && l.size > finishLogCompact {
		if l.f.Truncate(0) == nil {
			l.size = 0
			return
		}
	}
	_ = l.append(finishLine{Done: &ref})
}

// pending is how many logged finishes are still being delivered.
func (l *finishLog) pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

func (l *finishLog) close() error { return l.f.Close() }
