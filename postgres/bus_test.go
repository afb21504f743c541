package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/postgres"
)

// subscribe starts a subscription of b that sends every event to the
// returned channel, and waits until it listens.
func subscribe(t *testing.T, b *postgres.Bus) <-chan runbooker.Event {
	t.Helper()
	ch := make(chan runbooker.Event, 100)
	before := b.Listens()
	go func() { _ = b.Subscribe(t.Context(), func(e runbooker.Event) { ch <- e }) }()
	waitFor(t, "the bus to listen", func() bool { return b.Listens() > before })
	return ch
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func receive(t *testing.T, ch <-chan runbooker.Event) runbooker.Event {
	t.Helper()
	select {
	case e := <-ch:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event arrived")
		return runbooker.Event{}
	}
}

// Replicas find each other, events cross replicas (a replica never hears
// its own), queued events published together are merged with their
// counts, and a subscription reconnects by itself after its connection is
// killed.
func TestBusCrossesReplicasAndReconnects(t *testing.T) {
	t.Parallel()
	db := openTemp(t)
	defer db.Close()
	a, b := postgres.NewBus(db, nil), postgres.NewBus(db, nil)
	defer a.Close()
	defer b.Close()
	fromA, fromB := subscribe(t, a), subscribe(t, b)
	waitFor(t, "the replicas to hear each other", func() bool { return a.Peers() == 1 && b.Peers() == 1 })

	ctx := context.Background()
	if err := a.Publish(ctx, runbooker.Event{Kind: runbooker.EventDone, JobID: "j1"}); err != nil {
		t.Fatal(err)
	}
	if e := receive(t, fromB); e.Kind != runbooker.EventDone || e.JobID != "j1" {
		t.Fatalf("B got %+v", e)
	}
	select {
	case e := <-fromA:
		t.Fatalf("A heard its own event %+v", e)
	case <-time.After(200 * time.Millisecond):
	}

	// Many queued events at once arrive as few events whose counts add up.
	for range 50 {
		_ = b.Publish(ctx, runbooker.Event{Kind: runbooker.EventQueued, Group: "onprem", Count: 1})
	}
	total := 0
	for total < 50 {
		e := receive(t, fromA)
		if e.Kind != runbooker.EventQueued || e.Group != "onprem" {
			t.Fatalf("A got %+v", e)
		}
		total += e.Count
	}
	if total != 50 {
		t.Fatalf("queued counts add up to %d, want 50", total)
	}

	// Kill B's listening connection: B reconnects and hears events again.
	before := b.Listens()
	killListeners(t, db)
	waitFor(t, "B to reconnect", func() bool { return b.Listens() > before })
	if err := a.Publish(ctx, runbooker.Event{Kind: runbooker.EventStop, JobID: "j2"}); err != nil {
		t.Fatal(err)
	}
	for {
		if e := receive(t, fromB); e.Kind == runbooker.EventStop && e.JobID == "j2" {
			break
		}
	}
}

// killListeners terminates every LISTENing backend of the test database.
func killListeners(t *testing.T, db *postgres.DB) {
	t.Helper()
	if err := postgres.TerminateListeners(context.Background(), db); err != nil {
		t.Fatal(err)
	}
}

// A replica alone publishes nothing: no NOTIFY per job for one server.
func TestBusAloneStaysQuiet(t *testing.T) {
	t.Parallel()
	db := openTemp(t)
	defer db.Close()
	a := postgres.NewBus(db, nil)
	defer a.Close()
	subscribe(t, a)
	if err := a.Publish(context.Background(), runbooker.Event{Kind: runbooker.EventDone, JobID: "j"}); err != nil {
		t.Fatal(err)
	}
	if a.Peers() != 0 {
		t.Fatalf("a lone replica counts %d peers", a.Peers())
	}
	b := postgres.NewBus(db, nil) // a second replica: a hears its hello and answers
	defer b.Close()
	fromB := subscribe(t, b)
	waitFor(t, "the replicas to hear each other", func() bool { return a.Peers() == 1 && b.Peers() == 1 })
	if err := a.Publish(context.Background(), runbooker.Event{Kind: runbooker.EventDone, JobID: "j2"}); err != nil {
		t.Fatal(err)
	}
	if e := receive(t, fromB); e.JobID != "j2" {
		t.Fatalf("B got %+v, want the event published after it joined", e)
	}
}
