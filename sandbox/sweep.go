package sandbox

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// jobDirPrefix starts every job directory's name: rb-<worker pid>-<job>-<random>.
const jobDirPrefix = "rb-"

// SweepJobDirs removes job directories under root (the system temp dir when
// empty) left behind by workers that died without cleaning up (kill -9, a
// power cut): those whose worker pid no longer runs. Directories of live
// workers, this one included, are left alone. It returns how many it removed.
func SweepJobDirs(root string) int {
	n := 0
	for _, p := range deadWorkersDirs(root, jobDirPrefix) {
		if removeOnce(p) == nil { // else the next sweep tries again
			n++
		}
	}
	return n
}

// deadWorkersDirs lists the directories under root (the system temp dir
// when empty) named prefix+"<pid>-…" whose worker pid no longer runs.
func deadWorkersDirs(root, prefix string) []string {
	if root == "" {
		root = os.TempDir()
	}
	names, _ := filepath.Glob(filepath.Join(root, prefix+"*"))
	var out []string
	for _, p := range names {
		rest := strings.TrimPrefix(filepath.Base(p), prefix)
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		if st, err := os.Lstat(p); err == nil && st.IsDir() {
			out = append(out, p)
		}
	}
	return out
}

// waitFor polls done, at growing intervals of up to 50 ms, until it
// reports true or timeout passed; it reports whether done came true.
func waitFor(timeout time.Duration, done func() bool) bool {
	deadline := time.Now().Add(timeout)
	pause := time.Millisecond
	for !done() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
	return true
}

// removeWithRetry calls remove until it succeeds, waiting each of delays
// in turn between attempts; it returns the last error.
func removeWithRetry(dir string, delays []time.Duration, remove func(string) error) error {
	err := remove(dir)
	for _, d := range delays {
		if err == nil {
			return nil
		}
		time.Sleep(d)
		err = remove(dir)
	}
	return err
}

// leftovers are the job directories of this worker that could not be
// removed when their job ended (on Windows a file a process had open stays
// undeletable for a moment after the process ended); the sweeper tries
// them again.
type leftovers struct {
	mu   sync.Mutex
	dirs map[string]struct{}
}

func (l *leftovers) add(dir string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dirs == nil {
		l.dirs = map[string]struct{}{}
	}
	l.dirs[dir] = struct{}{}
}

func (l *leftovers) list() []string {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.dirs))
	for d := range l.dirs {
		out = append(out, d)
	}
	return out
}

func (l *leftovers) done(dir string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.dirs, dir)
}

// removeJobDir removes a job's directory, keeping it for the next sweep
// when it cannot be removed yet.
func (in Interpreters) removeJobDir(dir string) {
	if !removeJobDir(dir) {
		in.left.add(dir)
	}
}

// Sweep removes what jobs left behind: this worker's job directories that
// could not be removed when their jobs ended, and the job and work
// directories of workers that are gone. It returns how many it removed.
// Isolate starts a sweeper that calls it every SweepEvery.
func (in Interpreters) Sweep() int {
	n := 0
	for _, d := range in.left.list() {
		if removeOnce(d) == nil {
			in.left.done(d)
			n++
		}
	}
	n += SweepJobDirs(in.TempRoot)
	for _, w := range deadWorkersDirs(in.TempRoot, workPrefix) {
		if removeOnce(w) == nil {
			n++
		}
	}
	return n
}

// SweepEvery is how often a worker sweeps (see Sweep), jittered by up to a
// tenth so that workers sharing a disk do not sweep in step.
const SweepEvery = time.Minute

// sweeper calls Sweep periodically until stopped.
type sweeper struct {
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// startSweeper starts sweeping in every about every.
func startSweeper(in Interpreters, every time.Duration) *sweeper {
	s := &sweeper{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			t := time.NewTimer(every + time.Duration(rand.Int64N(int64(every)/10+1)))
			select {
			case <-s.stop:
				t.Stop()
				return
			case <-t.C:
				in.Sweep()
			}
		}
	}()
	return s
}

// close stops the sweeper and waits for a sweep under way.
func (s *sweeper) close() {
	if s == nil {
		return
	}
	s.once.Do(func() { close(s.stop) })
	<-s.done
}
