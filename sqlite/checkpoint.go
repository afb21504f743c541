package sqlite

import (
	"database/sql"
	"sync/atomic"
	"time"
)

// A checkpoint copies committed pages from the WAL back into the database
// file and fsyncs both; run by the committing connection (SQLite's default)
// it would stall every writer behind those fsyncs. So a goroutine with its
// own connection checkpoints in the background (PASSIVE: it never blocks
// writers), and the writer's own automatic checkpoint only backs it up
// once the WAL has grown past writerCheckpointPages.
const (
	checkpointEvery       = 100 * time.Millisecond
	writerCheckpointPages = 64 << 20 / pageSize // 64 MB of WAL (of a new database's pages)
	// walSizeLimit is what a WAL file is cut back to when it restarts, so
	// one burst does not leave a huge file behind.
	walSizeLimit = 16 << 20
)

// checkpointer is the background checkpoint loop.
type checkpointer struct {
	conn    *sql.DB
	commits *atomic.Uint64 // advanced by the writer at every commit
	stop    chan struct{}
	done    chan struct{}
}

func startCheckpointer(conn *sql.DB, commits *atomic.Uint64) *checkpointer {
	conn.SetMaxOpenConns(1)
	c := &checkpointer{conn: conn, commits: commits, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	var seen uint64
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		if n := c.commits.Load(); n != seen {
			seen = n
			// A failure (say, SQLITE_BUSY) is retried at the next tick; the
			// writer's own checkpoint bounds the WAL meanwhile.
			c.conn.Exec("PRAGMA wal_checkpoint(PASSIVE)")
		}
	}
}

// close stops the loop and closes its connection.
func (c *checkpointer) close() error {
	close(c.stop)
	<-c.done
	return c.conn.Close()
}
