package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/runbooker/runbooker"
)

// busChannel is the NOTIFY channel of Runbooker's events. NOTIFY is scoped
// to one database, so deployments on separate databases never hear each
// other.
const busChannel = "runbooker_events"

// maxPayload keeps a notification under PostgreSQL's 8000-byte limit.
const maxPayload = 7000

// notification is the payload of one NOTIFY: the sending replica and the
// events it batched.
type notification struct {
	Replica string            `json:"r"`
	Events  []runbooker.Event `json:"e"`
}

// Bus implements runbooker.Bus with PostgreSQL's LISTEN/NOTIFY, so that
// replicas sharing a database wake each other's claimers and waiters.
//
// Publish never blocks on the database: events go to a queue that one
// goroutine sends, batching what piles up while a NOTIFY is in flight
// (several jobs queued for one group become one event with their count).
// Subscribe listens on a dedicated connection, outside the pool, and
// reconnects with backoff after an outage. Each replica tags its events
// with a random id and ignores its own.
type Bus struct {
	db      *DB
	replica string
	log     *slog.Logger
	queue   chan runbooker.Event
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	listens atomic.Int64 // successful LISTENs so far, for tests and logs
}

var _ runbooker.Bus = (*Bus)(nil)

// NewBus returns the bus of one replica on db's database and starts its
// sender. log may be nil. Close stops it.
func NewBus(db *DB, log *slog.Logger) *Bus {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	b := &Bus{db: db, replica: runbooker.NewID(), log: log, queue: make(chan runbooker.Event, 4096)}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.wg.Add(1)
	go b.send()
	return b
}

// Replica is the id this replica's events carry.
func (b *Bus) Replica() string { return b.replica }

// Listens reports how many times a subscription has started listening,
// which grows by one at every reconnection.
func (b *Bus) Listens() int64 { return b.listens.Load() }

// Close stops the sender after it sent what was queued, and ends every
// subscription.
func (b *Bus) Close() error {
	b.cancel()
	b.wg.Wait()
	return nil
}

// Publish implements runbooker.Bus. It queues e for the sender and returns
// at once; EUNAVAILABLE when the queue is full (the database is too slow or
// down), in which case other replicas rely on their fallback poll.
func (b *Bus) Publish(ctx context.Context, e runbooker.Event) error {
	if b.ctx.Err() != nil {
		return runbooker.Errorf(runbooker.EUNAVAILABLE, "event bus is closed")
	}
	select {
	case b.queue <- e:
		return nil
	default:
		return runbooker.Errorf(runbooker.EUNAVAILABLE, "event bus queue is full")
	}
}

// send drains the queue: each NOTIFY carries everything queued meanwhile.
func (b *Bus) send() {
	defer b.wg.Done()
	for {
		var first runbooker.Event
		select {
		case first = <-b.queue:
		case <-b.ctx.Done():
			b.drain()
			return
		}
		batch := []runbooker.Event{first}
	more:
		for len(batch) < 1000 {
			select {
			case e := <-b.queue:
				batch = append(batch, e)
			default:
				break more
			}
		}
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
		if len(payload) > maxPayload {
			continue // a single event this large is a bug upstream; drop it
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := b.db.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, busChannel, string(payload))
		cancel()
		if err != nil {
			b.log.Debug("event not published; replicas rely on their fallback poll", "err", storeErr(err, "event bus"))
		}
	}
}

// Subscribe implements runbooker.Bus. It calls fn, from one goroutine, for
// each event another replica published, until ctx ends or the bus is
// closed. After a lost connection it reconnects with jittered backoff
// (100 ms doubling to 5 s); events sent while it was away are lost, which
// the engine's fallback poll covers.
func (b *Bus) Subscribe(ctx context.Context, fn func(runbooker.Event)) error {
	if b.ctx.Err() != nil {
		return runbooker.Errorf(runbooker.EUNAVAILABLE, "event bus is closed")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(b.ctx, cancel)
	defer stop()
	b.wg.Add(1)
	defer b.wg.Done()
	backoff := 100 * time.Millisecond
	for {
		err := b.listen(ctx, fn, func() { backoff = 100 * time.Millisecond })
		if ctx.Err() != nil {
			return nil
		}
		wait := backoff/2 + rand.N(backoff)
		b.log.Warn("event bus disconnected; reconnecting", "err", storeErr(err, "event bus"), "retry_in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// listen holds one listening connection until it fails or ctx ends.
func (b *Bus) listen(ctx context.Context, fn func(runbooker.Event), connected func()) error {
	conn, err := pgx.ConnectConfig(ctx, b.db.connCfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+busChannel); err != nil {
		return err
	}
	connected()
	if b.listens.Add(1) > 1 {
		b.log.Info("event bus reconnected")
	}
	for {
		// A bounded wait, then a ping: a connection that died silently is
		// noticed within a minute even when no event comes.
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, context.DeadlineExceeded) {
			if err := conn.Ping(ctx); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		var msg notification
		if json.Unmarshal([]byte(n.Payload), &msg) != nil || msg.Replica == b.replica {
			continue
		}
		for _, e := range msg.Events {
			fn(e)
		}
	}
}
