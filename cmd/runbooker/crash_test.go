package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	rbhttp "github.com/runbooker/runbooker/http"
)

// serverProcess runs `runbooker serve` as a real child process (this test
// binary re-executed as main).
type serverProcess struct {
	cmd *exec.Cmd
	url string
	log *bytes.Buffer
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startServerProcess(t *testing.T, addr, dir string, extra ...string) *serverProcess {
	t.Helper()
	args := append([]string{"serve", "--listen", addr, "--data", dir, "--log-level", "warn"}, extra...)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "RUNBOOKER_TEST_AS_MAIN=1")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProcess{cmd: cmd, url: "http://" + addr, log: &log}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	eventually(t, 20*time.Second, "the server to answer /healthz", func() bool {
		resp, err := http.Get(p.url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return p
}

func TestCrashDuringStartBurstLosesNoAcceptedJob(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 test skipped in -short mode")
	}
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"credential", "create", "--name", "burst", "--data", dir}, nil, &out, &errb); code != 0 {
		t.Fatalf("credential create: %s", errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	cred := lines[len(lines)-1]
	addr := freeAddr(t)
	p := startServerProcess(t, addr, dir, "--lease-ttl", "2s")
	c, err := rbhttp.NewClient(p.url, cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.PutRunbook(ctx, "org_general_short", runbooker.LangBash, []byte("#!/bin/bash\necho start\nsleep 0.2\necho done\n")); err != nil {
		t.Fatal(err)
	}

	const total = 500
	var mu sync.Mutex
	var accepted []string
	var wg sync.WaitGroup
	next := make(chan int, total)
	for i := 0; i < total; i++ {
		next <- i
	}
	close(next)
	killed := make(chan struct{})
	var once sync.Once
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				resp, err := c.Start(ctx, "org_general_short", nil, "")
				if err != nil {
					continue // refused or cut off by the crash: not accepted, nothing promised
				}
				mu.Lock()
				accepted = append(accepted, resp.JobID)
				n := len(accepted)
				mu.Unlock()
				if n == total/3 {
					once.Do(func() {
						_ = p.cmd.Process.Signal(syscall.SIGKILL)
						close(killed)
					})
				}
			}
		}()
	}
	wg.Wait()
	<-killed
	_ = p.cmd.Wait()
	if len(accepted) < total/3 {
		t.Fatalf("only %d starts accepted before the crash", len(accepted))
	}
	t.Logf("%d starts accepted before kill -9", len(accepted))

	p2 := startServerProcess(t, addr, dir, "--lease-ttl", "2s")
	c2, _ := rbhttp.NewClient(p2.url, cred, nil)
	deadline := time.Now().Add(90 * time.Second)
	for _, id := range accepted {
		for {
			j, err := c2.Job(ctx, id)
			if err != nil {
				t.Fatalf("accepted job %s is missing after restart: %v", id, err)
			}
			if j.Status.Terminal() {
				if j.Status != runbooker.StatusCompleted {
					t.Errorf("job %s ended %s: %s", id, j.Status, j.Exception)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s still %s 90s after restart\n%s", id, j.Status, p2.log.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	fmt.Fprintf(os.Stderr, "crash test: %d accepted jobs all completed after restart\n", len(accepted))
}
