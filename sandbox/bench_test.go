package sandbox_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/sandbox"
)

// BenchmarkMillionLines measures an ARCHITECTURE.md §9 target: a runbook printing
// 1,000,000 lines takes at most twice as long through the sandbox (every
// line stored, in order) as the same script writing to /dev/null. Each
// iteration runs both, back to back, so machine noise hits both alike.
// The "ratio" metric is sandbox time / /dev/null time.
//
//	go test -run '^$' -bench MillionLines -benchtime 3x ./sandbox/
func BenchmarkMillionLines(b *testing.B) {
	const n = 1_000_000
	for _, c := range []struct {
		name   string
		lang   runbooker.Language
		script string
	}{
		// The realistic case: a shell loop, one write per line.
		{"bash-loop", runbooker.LangBash, `for ((i=0; i<1000000; i++)); do echo "line $i"; done`},
		// The worst case: a producer that writes 4 KiB blocks almost for free.
		{"seq", runbooker.LangBash, `seq 1 1000000`},
		{"python-print", runbooker.LangPython, "for i in range(1000000):\n    print('line', i)\n"},
	} {
		b.Run(c.name, func(b *testing.B) {
			in := interpreters()
			interp := map[runbooker.Language]string{runbooker.LangBash: in.Bash, runbooker.LangPython: in.Python}[c.lang]
			if interp == "" {
				b.Skipf("no %s", c.lang)
			}
			script := filepath.Join(b.TempDir(), "script"+c.lang.Ext())
			if err := os.WriteFile(script, []byte(c.script), 0o600); err != nil {
				b.Fatal(err)
			}
			var bare, boxed time.Duration
			for b.Loop() {
				start := time.Now()
				if err := exec.Command(interp, script).Run(); err != nil { // stdout: /dev/null
					b.Fatal(err)
				}
				bare += time.Since(start)

				count, next := 0, int64(0)
				emit := func(recs []runbooker.StreamRecord) {
					for _, r := range recs {
						if r.Seq != next {
							b.Fatalf("record %d has seq %d", next, r.Seq)
						}
						next++
					}
					count += len(recs)
				}
				start = time.Now()
				res := in.Run(context.Background(), sandbox.Spec{Language: c.lang, Script: []byte(c.script)}, emit)
				boxed += time.Since(start)
				if res.Status != runbooker.StatusCompleted || count != n {
					b.Fatalf("status %s, %d records (%s)", res.Status, count, res.Exception)
				}
			}
			b.ReportMetric(boxed.Seconds()/bare.Seconds(), "ratio")
			b.ReportMetric(bare.Seconds()/float64(b.N), "devnull-s/op")
			b.ReportMetric(float64(n*b.N)/boxed.Seconds(), "lines/s")
		})
	}
}

// BenchmarkStart compares a sync run of a trivial Bash runbook with a bare
// "bash -c" start (ARCHITECTURE.md §9: at most 2×, p50). "ratio-p50" is the median
// sandbox time over the median bare time.
//
// The shm variant makes job directories on a tmpfs (Interpreters.TempRoot).
//
//	go test -run '^$' -bench Start -benchtime 300x ./sandbox/
func BenchmarkStart(b *testing.B) {
	b.Run("tempdir", func(b *testing.B) { benchStart(b, interpreters()) })
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		in := interpreters()
		in.TempRoot = "/dev/shm"
		b.Run("shm", func(b *testing.B) { benchStart(b, in) })
	}
}

func benchStart(b *testing.B, in sandbox.Interpreters) {
	if in.Bash == "" {
		b.Skip("no bash")
	}
	spec := sandbox.Spec{Language: runbooker.LangBash, Script: []byte("echo hello")}
	var bare, boxed []time.Duration
	for b.Loop() {
		start := time.Now()
		if out, err := exec.Command(in.Bash, "-c", "echo hello").Output(); err != nil || string(out) != "hello\n" {
			b.Fatalf("bash -c: %q, %v", out, err)
		}
		bare = append(bare, time.Since(start))

		got := ""
		start = time.Now()
		res := in.Run(context.Background(), spec, func(recs []runbooker.StreamRecord) { got = recs[0].Text })
		boxed = append(boxed, time.Since(start))
		if res.Status != runbooker.StatusCompleted || got != "hello" {
			b.Fatalf("status %s, output %q", res.Status, got)
		}
	}
	slices.Sort(bare)
	slices.Sort(boxed)
	b.ReportMetric(float64(boxed[len(boxed)/2])/float64(bare[len(bare)/2]), "ratio-p50")
	b.ReportMetric(float64(bare[len(bare)/2].Microseconds()), "bare-p50-µs")
	b.ReportMetric(float64(boxed[len(boxed)/2].Microseconds()), "sandbox-p50-µs")
}

// BenchmarkTrivialJob runs "echo hi" through the sandbox without and with
// isolation (as root): the difference is what isolation costs per job.
//
//	go test -run '^$' -bench TrivialJob ./sandbox/
//
// BenchmarkTrivialJob runs trivial Bash jobs one after another: plain,
// isolated, and isolated from warm bash processes, beside bare spawns of
// the same bash. Besides the time a job it reports the CPU a job
// (cpu-µs/op: this process's and its ended children's, user and system, so
// the kernel's work for namespaces and cgroups on either side included),
// the figure a busy worker's throughput depends on.
func BenchmarkTrivialJob(b *testing.B) {
	b.Run("bare", func(b *testing.B) {
		in := interpreters()
		if in.Bash == "" {
			b.Skip("no bash")
		}
		cpu := processCPU()
		for b.Loop() {
			if err := exec.Command(in.Bash, "-c", "echo hi").Run(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
	})
	for _, mode := range []string{"plain", "isolated", "warm"} {
		b.Run(mode, func(b *testing.B) {
			iso := mode != "plain"
			in := interpreters()
			if iso {
				if os.Geteuid() != 0 {
					b.Skip("isolation needs root")
				}
				dir, err := os.MkdirTemp("/dev/shm", "rb-bench-")
				if err != nil {
					b.Skip(err)
				}
				defer os.RemoveAll(dir)
				_ = os.Chmod(dir, 0o711)
				in = sandbox.ResolveInterpreters()
				in.TempRoot = dir
				if _, err := in.Isolate(sandbox.IsolationConfig{Mode: sandbox.IsolationStrict}); err != nil {
					b.Fatal(err)
				}
				defer in.Close()
			} else {
				in.TempRoot = "/dev/shm"
			}
			if mode == "warm" {
				in.KeepWarm(1)
			}
			cpu := processCPU()
			for b.Loop() {
				if res := in.Run(context.Background(), sandbox.Spec{Language: runbooker.LangBash, Script: []byte("echo hi")}, nil); res.Status != runbooker.StatusCompleted {
					b.Fatal(res.Exception)
				}
			}
			b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// processCPU is sandbox.CPUUsed, both sides summed.
func processCPU() time.Duration {
	self, children := sandbox.CPUUsed()
	return self + children
}
