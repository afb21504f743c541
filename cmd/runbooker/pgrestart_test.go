package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbooker/runbooker/postgres/pgtest"
)

// startOutcome is what one start request got.
type startOutcome struct {
	status int
	body   string
	jobID  string
	err    error
}

// postStart starts the trivial runbook through the external API and
// reports the raw HTTP outcome.
func postStart(client *http.Client, base, cred string) startOutcome {
	req, _ := http.NewRequest("POST", base+"/runbook/"+trivialRunbook+"/start?runOn=onprem", strings.NewReader("{}"))
	id, secret, _ := strings.Cut(cred, ":")
	req.SetBasicAuth(id, secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return startOutcome{err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	o := startOutcome{status: resp.StatusCode, body: string(b)}
	if resp.StatusCode == 200 {
		var r struct {
			JobID string `json:"jobID"`
		}
		_ = json.Unmarshal(b, &r)
		o.jobID = r.JobID
	}
	if resp.StatusCode == 503 && resp.Header.Get("Retry-After") == "" {
		o.body += " (no Retry-After)"
	}
	return o
}

// A private PostgreSQL instance stopped and started again under load: requests meanwhile get
// 503 with a clear message (never 500), both servers recover by
// themselves, and every job whose start was answered 200 completes.
func TestPostgresRestartUnderLoadLosesNoAcceptedJob(t *testing.T) {
	if testing.Short() {
		t.Skip("PostgreSQL restart test skipped in -short mode")
	}
	// A private instance: stopping it must not touch the machine's cluster,
	// nor the other tests that use it.
	pg := pgtest.Private(t)
	url := pg.Database("rb_restart")
	d := startPGDeployment(t, url, 2)
	for _, s := range d.servers {
		startWorker(t, s.url, d.token, t.TempDir(), "--capacity", "4")
	}
	waitWorkersOnline(t, d.clients[0], "onprem", 2)

	var mu sync.Mutex
	var outcomes []startOutcome
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 30 * time.Second}
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				o := postStart(client, d.servers[(g+i)%2].url, d.cred)
				mu.Lock()
				outcomes = append(outcomes, o)
				mu.Unlock()
			}
		})
	}
	time.Sleep(2 * time.Second)
	t0 := time.Now()
	pg.Stop()
	// While the database is down the servers answer, with 503.
	st, _, body := (&server{t: t, url: d.servers[0].url}).call("GET", "/healthz", "", "")
	if st != 503 || !strings.Contains(body, "database unavailable") {
		t.Errorf("/healthz with the database down: %d %s", st, body)
	}
	time.Sleep(2 * time.Second)
	pg.Start()
	fmt.Fprintf(os.Stderr, "pg restart: database down for %v\n", time.Since(t0).Round(time.Millisecond))
	eventually(t, 30*time.Second, "both servers to be healthy again", func() bool {
		for _, s := range d.servers {
			if st, _, _ := (&server{t: t, url: s.url}).call("GET", "/healthz", "", ""); st != 200 {
				return false
			}
		}
		return true
	})
	recovered := time.Since(t0)
	time.Sleep(3 * time.Second) // load goes on after the restart
	close(stop)
	wg.Wait()

	codes := map[int]int{}
	var accepted []string
	for _, o := range outcomes {
		switch {
		case o.err != nil:
			t.Errorf("a start request failed without an answer: %v", o.err)
		case o.status == 200:
			accepted = append(accepted, o.jobID)
		case o.status == 503:
			if !strings.Contains(o.body, "database unavailable") || strings.Contains(o.body, "no Retry-After") {
				t.Errorf("503 without a clear message and Retry-After: %s", o.body)
			}
		default:
			t.Errorf("start answered %d during the restart: %s", o.status, o.body)
		}
		codes[o.status]++
	}
	fmt.Fprintf(os.Stderr, "pg restart: answers %v, healthy again %v after the stop\n", codes, recovered.Round(time.Millisecond))
	if codes[503] == 0 {
		t.Error("no request hit the outage: the test did not test it")
	}
	conn := d.sql(t)
	waitAllTerminal(t, conn, accepted, 90*time.Second)
	var notCompleted int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM jobs WHERE id = ANY($1) AND status <> 'Completed'`,
		accepted).Scan(&notCompleted); err != nil {
		t.Fatal(err)
	}
	var found int
	_ = conn.QueryRow(context.Background(), `SELECT count(*) FROM jobs WHERE id = ANY($1)`, accepted).Scan(&found)
	if found != len(accepted) || notCompleted != 0 {
		t.Fatalf("%d accepted jobs: %d found, %d not Completed", len(accepted), found, notCompleted)
	}
}
