package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// poolGroups sets up a worker's parent groups for a test, or skips where
// that cannot be done (not root, no controllers).
func poolGroups(t *testing.T) *cgroups {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("cgroups need root (CI runs the tests as root)")
	}
	cg, err := setupCgroups(workPrefix + strconv.Itoa(os.Getpid()) + "-pool-" + randomSuffix())
	if err != nil {
		t.Skipf("no cgroups here: %v", err)
	}
	t.Cleanup(cg.remove)
	return cg
}

// readGroupFile reads a control file of the job group for controller
// ctrl ("" on v2).
func readGroupFile(t *testing.T, j *jobCgroup, ctrl, file string) string {
	t.Helper()
	for i, p := range j.cg.parent {
		if p.ctrl == ctrl || j.cg.v2 {
			b, err := os.ReadFile(filepath.Join(j.dirs[i], file))
			if err != nil {
				t.Fatal(err)
			}
			return strings.TrimSpace(string(b))
		}
	}
	t.Fatalf("no %s controller", ctrl)
	return ""
}

// runInGroup starts sh -c script in the job's group and waits for it.
func runInGroup(t *testing.T, j *jobCgroup, script string) string {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	var out strings.Builder
	cmd.Stdout = &out
	if err := j.start(cmd.SysProcAttr, cmd.Start); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	return out.String()
}

func TestJobGroupsAreReusedWithTheNextJobsLimits(t *testing.T) {
	cg := poolGroups(t)
	first := Limits{MemoryBytes: 96 << 20, MaxProcs: 10, CPUWeight: 100}
	j, err := cg.take(first)
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(j.dirs[0])
	if got := runInGroup(t, j, "cat /proc/self/cgroup"); !strings.Contains(got, "/"+name+"\n") {
		t.Fatalf("the job's process is not in its group %s:\n%s", name, got)
	}
	// The worker's main thread never joins a job's group: the group of the
	// main thread is where a v1 kernel charges the whole process's memory.
	main, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(os.Getpid()) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(main), name) {
		t.Fatalf("the main thread is in the job's group:\n%s", main)
	}
	j.recycle()

	second := Limits{MemoryBytes: 128 << 20, MaxProcs: 20, CPUWeight: 200}
	k, err := cg.take(second)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(k.dirs[0]) != name {
		t.Fatalf("an emptied group was not reused: got %s, want %s", k.dirs[0], name)
	}
	wantProcs := "20"
	mem, memFile := "memory", "memory.limit_in_bytes"
	if cg.v2 {
		mem, memFile = "", "memory.max"
	} else {
		wantProcs = "21" // and the forker thread
	}
	if got := readGroupFile(t, k, map[bool]string{true: "", false: "pids"}[cg.v2], "pids.max"); got != wantProcs {
		t.Errorf("pids.max %s after reuse, want %s", got, wantProcs)
	}
	if got := readGroupFile(t, k, mem, memFile); got != strconv.Itoa(128<<20) {
		t.Errorf("%s %s after reuse, want %d", memFile, got, 128<<20)
	}
	// Shrinking the limits again works too (v1 wants the order of the two
	// memory limits right).
	k.recycle()
	k, err = cg.take(first)
	if err != nil {
		t.Fatal(err)
	}
	if got := readGroupFile(t, k, mem, memFile); got != strconv.Itoa(96<<20) {
		t.Errorf("%s %s after shrinking, want %d", memFile, got, 96<<20)
	}
	k.recycle()
}

func TestAJobsOOMKillIsNotHeldAgainstTheNextJob(t *testing.T) {
	cg := poolGroups(t)
	l := Limits{MemoryBytes: 32 << 20, MaxProcs: 10, CPUWeight: 100}
	j, err := cg.take(l)
	if err != nil {
		t.Fatal(err)
	}
	if j.oomKilled() {
		t.Fatal("a new group reports an OOM kill")
	}
	runInGroup(t, j, "tail /dev/zero") // one endless line: grows until killed
	if !j.oomKilled() {
		t.Fatal("the memory hog's OOM kill was not seen")
	}
	name := j.dirs[0]
	j.recycle()
	k, err := cg.take(l)
	if err != nil {
		t.Fatal(err)
	}
	if k.dirs[0] != name {
		t.Fatalf("the group was not reused")
	}
	if got := runInGroup(t, k, "echo fine"); got != "fine\n" || k.oomKilled() {
		t.Fatalf("the next job in the group: output %q, OOM killed %v", got, k.oomKilled())
	}
	k.recycle()
}

func TestAGroupWithAProcessLeftIsRemovedNotReused(t *testing.T) {
	cg := poolGroups(t)
	j, err := cg.take(Limits{MemoryBytes: 64 << 20, MaxProcs: 10, CPUWeight: 100})
	if err != nil {
		t.Fatal(err)
	}
	marker := "1001." + strconv.Itoa(os.Getpid())
	runInGroup(t, j, "setsid sleep "+marker+" >/dev/null 2>&1 &")
	dirs := append([]string(nil), j.dirs...)
	j.recycle()
	for _, d := range dirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("group %s was kept with a process in it (%v)", d, err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(pidsWithArg(marker)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the leftover process lives on: %v", pidsWithArg(marker))
		}
		time.Sleep(10 * time.Millisecond)
	}
	cg.mu.Lock()
	idle := len(cg.idle)
	cg.mu.Unlock()
	if idle != 0 {
		t.Errorf("%d idle groups, want 0", idle)
	}
}

func TestClosingTheGroupsRemovesIdleOnesAndSparesTheWorker(t *testing.T) {
	cg := poolGroups(t)
	var dirs []string
	var js []*jobCgroup
	for i := 0; i < 3; i++ {
		j, err := cg.take(Limits{MemoryBytes: 64 << 20, MaxProcs: 10, CPUWeight: 100})
		if err != nil {
			t.Fatal(err)
		}
		js = append(js, j)
		dirs = append(dirs, j.dirs...)
	}
	for _, j := range js {
		j.recycle()
	}
	cg.remove() // on v1 the forker threads were in these groups: this process must survive
	for _, d := range append(dirs, cg.parent[0].dir) {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s left behind (%v)", d, err)
		}
	}
}

// pidsWithArg lists the processes with arg in their command line.
func pidsWithArg(arg string) []string {
	var out []string
	files, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil && strings.Contains(string(b), "\x00"+arg) {
			out = append(out, filepath.Base(filepath.Dir(f)))
		}
	}
	return out
}
