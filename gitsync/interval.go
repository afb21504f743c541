package gitsync

import (
	"context"
	"math/rand/v2"
	"time"
)

// DefaultCheckEvery is how often the interval service looks for sources
// that are due.
const DefaultCheckEvery = 30 * time.Second

// Service syncs, in the background, every source that has an interval once
// that interval has passed since its last sync (successful or not) in this
// process. After a restart each such source is due at the first check.
type Service struct {
	syncer *Syncer
	every  time.Duration
	cancel context.CancelFunc
	done   chan struct{}
}

// NewService returns the interval service of s, checking every `every`
// (jittered by ±20%; DefaultCheckEvery when 0).
func NewService(s *Syncer, every time.Duration) *Service {
	if every <= 0 {
		every = DefaultCheckEvery
	}
	return &Service{syncer: s, every: every}
}

// Start runs the service until Stop or until ctx ends.
func (v *Service) Start(ctx context.Context) {
	ctx, v.cancel = context.WithCancel(ctx)
	v.done = make(chan struct{})
	go v.loop(ctx)
}

// Stop ends the service and waits for a sync in progress to give up.
func (v *Service) Stop() {
	if v.cancel == nil {
		return
	}
	v.cancel()
	<-v.done
}

func (v *Service) loop(ctx context.Context) {
	defer close(v.done)
	for {
		d := v.every - v.every/5 + time.Duration(rand.Int64N(int64(v.every/5)*2+1))
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		v.RunDue(ctx)
	}
}

// RunDue syncs, one after the other, every source of every tenant whose
// interval has passed, and returns them as "tenant/source". Failures are
// logged and recorded in the sources' status.
func (v *Service) RunDue(ctx context.Context) []string {
	s := v.syncer
	tenants, err := s.store.Tenants(ctx)
	if err != nil {
		s.log.Warn("sync service: listing tenants", "err", err)
		return nil
	}
	var ran []string
	for _, t := range tenants {
		srcs, err := s.Sources(ctx, t.ID)
		if err != nil {
			s.log.Warn("sync service: listing sources", "tenant", t.ID, "err", err)
			continue
		}
		for _, src := range srcs {
			if src.Interval <= 0 || ctx.Err() != nil {
				continue
			}
			if src.LastSync != nil && s.cfg.Now().Sub(src.LastSync.At) < time.Duration(src.Interval) {
				continue
			}
			_, _ = s.Sync(ctx, t.ID, src.ID) // the outcome is logged and kept in the status
			ran = append(ran, t.ID+"/"+src.ID)
		}
	}
	return ran
}
