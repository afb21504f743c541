package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/runbooker/runbooker"
)

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
	b.hello(ctx) // whoever listens learns of this replica now
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
		if json.Unmarshal([]byte(n.Payload), &msg) != nil || msg.Replica == b.replica || msg.Replica == "" {
			continue
		}
		if b.heard(msg.Replica) && msg.Hello {
			b.hello(ctx) // a newcomer: tell it about this replica at once
		}
		for _, e := range msg.Events {
			fn(e)
		}
	}
}
