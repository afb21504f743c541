package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/engine"
)

// benchJobSchedules is how many job schedules the schedules figure stores.
const benchJobSchedules = 10_000

// scheduleDispatch: dispatch p50 with 10,000 job schedules stored and the
// scheduler passing over them fifty times as often as it does, against
// dispatch p50 on the same server just before they were stored; and the
// time of one scheduler pass.
func (b *harness) scheduleDispatch(ctx context.Context) ([]Figure, error) {
	b.progress("dispatch latency before and with %d job schedules: %d jobs each", benchJobSchedules, b.cfg.Latency)
	before, err := b.dispatchP50(ctx)
	if err != nil {
		return nil, err
	}
	e := b.cp.Engine
	const schedules = 100
	start := e.Now().Add(24 * time.Hour).Truncate(time.Minute)
	for i := range schedules {
		s := &runbooker.Schedule{TenantID: b.tenant, Name: fmt.Sprintf("bench-%03d", i), Frequency: "Day", Interval: 1,
			TimeZone: "UTC", StartTime: start.Add(time.Duration(i) * time.Minute), Enabled: true}
		if _, err := e.PutSchedule(ctx, s); err != nil {
			return nil, err
		}
	}
	for i := range benchJobSchedules {
		if _, err := e.LinkRunbook(ctx, engine.LinkParams{TenantID: b.tenant, ScheduleName: fmt.Sprintf("bench-%03d", i%schedules),
			RunbookName: "org_bench_trivial", Caller: "bench"}); err != nil {
			return nil, err
		}
	}
	// The scheduler looks for due job schedules every few seconds
	// (engine.Config.ScheduleEvery, 5 s); here it passes every 100 ms, fifty
	// times as often, while the jobs are dispatched.
	passCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var passes []time.Duration
	wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			t0 := time.Now()
			_, _ = e.FireSchedules(passCtx)
			passes = append(passes, time.Since(t0))
			select {
			case <-passCtx.Done():
				return
			case <-tick.C:
			}
		}
	})
	with, err := b.dispatchP50(ctx)
	stop()
	wg.Wait()
	if err != nil {
		return nil, err
	}
	pass := Percentile(passes, 0.5)
	ratio := 0.0
	if before > 0 {
		ratio = float64(with) / float64(before)
	}
	return []Figure{{Name: fmt.Sprintf("dispatch p50 with %d job schedules", benchJobSchedules), Value: ms(with), Unit: "ms",
		Baseline: ms(before), Ratio: ratio, Target: "no measurable change (≤ 1.25× or +0.5 ms)",
		Met: with <= before*5/4 || with-before <= 500*time.Microsecond},
		{Name: fmt.Sprintf("scheduler pass p50 over %d job schedules, none due", benchJobSchedules), Value: ms(pass), Unit: "ms",
			Target: "≤ 5 ms", Met: pass <= 5*time.Millisecond}}, nil
}

// dispatchP50 runs Latency trivial jobs one at a time on the built-in
// group and returns the p50 of created → process started.
func (b *harness) dispatchP50(ctx context.Context) (time.Duration, error) {
	figs, err := b.dispatchFigures(ctx, runbooker.CloudGroup, "built-in group")
	if err != nil {
		return 0, err
	}
	return time.Duration(figs[0].Value * float64(time.Millisecond)), nil
}
