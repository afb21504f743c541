package postgres

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/runbooker/runbooker"
)

// busChannel is the NOTIFY channel of Runbooker's events. NOTIFY is scoped
// to one database, so deployments on separate databases never hear each
// other.
const busChannel = "runbooker_events"

// maxPayload keeps a notification under PostgreSQL's 8000-byte limit.
const maxPayload = 7000

const (
	// linger is how long the sender gathers events before a NOTIFY: a
	// NOTIFY serialises on a cluster-wide lock, so fewer, fuller ones are
	// cheaper, and a millisecond is nothing next to the fallback poll.
	linger = time.Millisecond
	// helloEvery is how often a replica announces itself; peerWindow is
	// how long a replica counts as present after it was last heard.
	helloEvery = 10 * time.Second
	peerWindow = 3*helloEvery + time.Second
)

// notification is the payload of one NOTIFY: the sending replica and the
// events it batched, or a hello that announces the replica.
type notification struct {
	Replica string            `json:"r"`
	Hello   bool              `json:"h,omitempty"`
	Events  []runbooker.Event `json:"e,omitempty"`
}

// Bus implements runbooker.Bus with PostgreSQL's LISTEN/NOTIFY, so that
// replicas sharing a database wake each other's claimers and waiters.
//
// Publish never blocks on the database: events go to a queue that one
// goroutine sends, batching what gathers within a millisecond or while a
// NOTIFY is in flight (several jobs queued for one group become one event
// with their count). Subscribe listens on a dedicated connection, outside
// the pool, and reconnects with backoff after an outage.
//
// Replicas announce themselves (a hello when they start listening, then
// every 10s, and in answer to a newcomer's), and a replica that has heard
// no other for 30s publishes nothing: a single server on PostgreSQL pays
// no NOTIFY per job. Each replica tags what it sends with a random id and
// ignores its own.
type Bus struct {
	db      *DB
	replica string
	log     *slog.Logger
	queue   chan runbooker.Event
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	listens atomic.Int64 // successful LISTENs so far, for tests and logs

	mu    sync.Mutex
	peers map[string]time.Time // other replicas, when last heard
}

var _ runbooker.Bus = (*Bus)(nil)

// NewBus returns the bus of one replica on db's database and starts its
// sender. log may be nil. Close stops it.
func NewBus(db *DB, log *slog.Logger) *Bus {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	b := &Bus{db: db, replica: runbooker.NewID(), log: log, queue: make(chan runbooker.Event, 4096),
		peers: map[string]time.Time{}}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.wg.Add(1)
	go b.send()
	return b
}

// Replica is the id this replica's notifications carry.
func (b *Bus) Replica() string { return b.replica }

// Listens reports how many times a subscription has started listening,
// which grows by one at every reconnection.
func (b *Bus) Listens() int64 { return b.listens.Load() }

// Peers reports how many other replicas were heard within the last 30s.
func (b *Bus) Peers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, at := range b.peers {
		if time.Since(at) < peerWindow {
			n++
		}
	}
	return n
}

// heard records a notification of another replica and reports whether
// that replica is new (not heard within the window).
func (b *Bus) heard(replica string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	last, ok := b.peers[replica]
	b.peers[replica] = time.Now()
	for r, at := range b.peers {
		if time.Since(at) > 10*peerWindow {
			delete(b.peers, r)
		}
	}
	return !ok || time.Since(last) >= peerWindow
}

// Close stops the sender after it sent what was queued, and ends every
// subscription.
func (b *Bus) Close() error {
	b.cancel()
	b.wg.Wait()
	return nil
}

// Publish implements runbooker.Bus. It queues e for the sender and returns
// at once. With no other replica present it drops e: nobody would hear it.
// EUNAVAILABLE when the queue is full (the database is too slow or down),
// in which case other replicas rely on their fallback poll.
func (b *Bus) Publish(ctx context.Context, e runbooker.Event) error {
	if b.ctx.Err() != nil {
		return runbooker.Errorf(runbooker.EUNAVAILABLE, "event bus is closed")
	}
	if b.Peers() == 0 {
		return nil
	}
	select {
	case b.queue <- e:
		return nil
	default:
		return runbooker.Errorf(runbooker.EUNAVAILABLE, "event bus queue is full")
	}
}

// send drains the queue, one NOTIFY per gathering of events, and says
// hello every helloEvery while subscribed.
func (b *Bus) send() {
	defer b.wg.Done()
	hello := time.NewTicker(helloEvery)
	defer hello.Stop()
	for {
		var first runbooker.Event
		select {
		case first = <-b.queue:
		case <-hello.C:
			if b.listens.Load() > 0 {
				b.hello(b.ctx)
			}
			continue
		case <-b.ctx.Done():
			b.drain()
			return
		}
		batch := []runbooker.Event{first}
		wait := time.NewTimer(linger)
	gather:
		for len(batch) < 1000 {
			select {
			case e := <-b.queue:
				batch = append(batch, e)
			case <-wait.C:
				break gather
			}
		}
		wait.Stop()
		b.notify(context.Background(), coalesce(batch))
	}
}

// drain sends what is still queued at Close, briefly.
func (b *Bus) drain() {
	var batch []runbooker.Event
	for {
		select {
		case e := <-b.queue:
			batch = append(batch, e)
		default:
			if len(batch) > 0 {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				b.notify(ctx, coalesce(batch))
				cancel()
			}
			return
		}
	}
}

// coalesce merges queued-events of one group into one with their count,
// keeping the order of first appearance.
func coalesce(evs []runbooker.Event) []runbooker.Event {
	out := make([]runbooker.Event, 0, len(evs))
	at := map[string]int{}
	for _, e := range evs {
		if e.Kind == runbooker.EventQueued {
			if i, ok := at[e.Group]; ok {
				out[i].Count += max(e.Count, 1)
				continue
			}
			e.Count = max(e.Count, 1)
			at[e.Group] = len(out)
		}
		out = append(out, e)
	}
	return out
}

// notify sends events in as few NOTIFYs as the payload limit allows.
func (b *Bus) notify(ctx context.Context, evs []runbooker.Event) {
	for len(evs) > 0 {
		n := len(evs)
		var payload []byte
		for {
			payload, _ = json.Marshal(notification{Replica: b.replica, Events: evs[:n]})
			if len(payload) <= maxPayload || n == 1 {
				break
			}
			n = (n + 1) / 2
		}
		evs = evs[n:]
		if len(payload) <= maxPayload { // a single event this large is a bug upstream; dropped
			b.send1(ctx, payload)
		}
	}
}

// hello announces this replica to the others.
func (b *Bus) hello(ctx context.Context) {
	payload, _ := json.Marshal(notification{Replica: b.replica, Hello: true})
	b.send1(ctx, payload)
}

// send1 sends one NOTIFY. It commits without waiting for a WAL flush: the
// bus is best effort, and a NOTIFY otherwise costs a flush like a write.
func (b *Bus) send1(ctx context.Context, payload []byte) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := b.db.pool.Exec(ctx, `SELECT pg_notify($1, $2) FROM `+asyncCommit, busChannel, string(payload)); err != nil {
		b.log.Debug("event not published; replicas rely on their fallback poll", "err", storeErr(err, "event bus"))
	}
}
