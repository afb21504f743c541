package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/agent"
	rbhttp "github.com/runbooker/runbooker/http"
	"github.com/runbooker/runbooker/sandbox"
)

// remoteDispatch: job created → process started through a hybrid worker
// that talks to the server over HTTP on loopback, one job at a time; then
// the throughput figure through that worker, with as many slots as the
// built-in group has.
func (b *harness) remoteDispatch(ctx context.Context) ([]Figure, error) {
	b.progress("remote dispatch: %d jobs through a worker over loopback HTTP", b.cfg.Latency)
	token, err := b.cp.Engine.CreateGroup(ctx, &runbooker.WorkerGroup{TenantID: b.tenant, Name: "bench-remote"})
	if err != nil {
		return nil, err
	}
	reg, err := rbhttp.Register(ctx, b.cp.URL, nil, rbhttp.RegisterRequest{Token: token, Name: "bench"})
	if err != nil {
		return nil, err
	}
	wc, err := rbhttp.NewWorkerClient(b.cp.URL, reg.WorkerID, reg.Secret, nil)
	if err != nil {
		return nil, err
	}
	spool, err := agent.OpenSpool(filepath.Join(b.cfg.DataDir, "bench-spool"), wc, nil)
	if err != nil {
		return nil, err
	}
	defer spool.Close()
	var in sandbox.Interpreters
	if b.env.Jobs != nil {
		if in, err = b.env.Jobs(b.cfg.JobDir, b.cfg.WarmBash); err != nil {
			return nil, err
		}
	} else {
		in = sandbox.ResolveInterpreters()
		in.KeepWarm(b.cfg.WarmBash)
	}
	defer in.Close()
	a := agent.New(spool, agent.Config{Capacity: b.cfg.Concurrency, Interpreters: in}, nil)
	a.Start(ctx)
	defer a.Stop(5 * time.Second)
	figs, err := b.dispatchFigures(ctx, "bench-remote", "remote worker, loopback")
	if err != nil {
		return nil, err
	}
	tp, err := b.throughputOn(ctx, "bench-remote", "remote worker, loopback")
	return append(figs, tp...), err
}

// idleWorkers: a separate server process with n registered workers all
// long-polling and nothing to do; its resident memory and CPU are read
// from /proc over a quiet window.
func (b *harness) idleWorkers(ctx context.Context) ([]Figure, error) {
	n := b.cfg.IdleWorkers
	b.progress("idle workers: %d long-polling workers on a separate server process", n)
	dir := filepath.Join(b.cfg.DataDir, "idle")
	if b.env.CreateGroup == nil || b.env.Serve == nil {
		return nil, fmt.Errorf("the idle figure needs a separate server process, which this bench cannot start")
	}
	token, err := b.env.CreateGroup(ctx, dir, serveDB(b.cfg.DB), &runbooker.WorkerGroup{TenantID: b.tenant, Name: "idle"})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	// Every worker registers at once, from one address, with one token.
	args := []string{"--listen", addr, "--data", dir, "--log-level", "error", "--register-burst", fmt.Sprint(n + 1)}
	if db := serveDB(b.cfg.DB); db != "" {
		args = append(args, "--db", db)
	}
	cmd, err := b.env.Serve(ctx, args...)
	if err != nil {
		return nil, err
	}
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	url := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("idle-worker server did not start: %s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	clients := make([]*rbhttp.WorkerClient, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var regErr error
	sem := make(chan struct{}, 16)
	for i := range clients {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r, err := rbhttp.Register(ctx, url, nil, rbhttp.RegisterRequest{Token: token, Name: fmt.Sprintf("idle-%d", i)})
			if err == nil {
				clients[i], err = rbhttp.NewWorkerClient(url, r.WorkerID, r.Secret, nil)
			}
			if err != nil {
				mu.Lock()
				regErr = err
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if regErr != nil {
		return nil, fmt.Errorf("registering idle workers: %w", regErr)
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, c := range clients {
		go func() {
			for pctx.Err() == nil {
				if _, err := c.Claim(pctx, 1); err != nil && pctx.Err() == nil {
					time.Sleep(time.Second)
				}
			}
		}()
	}
	time.Sleep(5 * time.Second) // every worker connected and parked
	cpu0, err := procCPU(cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	const window = 10 * time.Second
	time.Sleep(window)
	cpu1, err := procCPU(cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	rss, err := procRSS(cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	cpuPct := 100 * (cpu1 - cpu0).Seconds() / window.Seconds()
	return []Figure{
		{Name: fmt.Sprintf("server RSS, %d idle long-polling workers", n), Value: rss, Unit: "MB", Target: "≤ 200 MB", Met: rss <= 200},
		{Name: fmt.Sprintf("server CPU, %d idle long-polling workers", n), Value: cpuPct, Unit: "% of a core", Target: "near idle (≤ 5 %)", Met: cpuPct <= 5},
	}, nil
}

// procRSS reads a process's resident set in MB.
func procRSS(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading memory use (Linux only): %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

// procCPU reads a process's user+system CPU time.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading CPU use (Linux only): %w", err)
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ut, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100, nil // USER_HZ is 100 on Linux
}
