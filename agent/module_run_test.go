package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/sandbox"
)

// oneJob is a Transport that hands out one assignment and keeps what the
// agent reports.
type oneJob struct {
	mu     sync.Mutex
	as     []runbooker.Assignment
	recs   []runbooker.StreamRecord
	finish chan runbooker.FinishParams
}

func (o *oneJob) Claim(ctx context.Context, limit int) ([]runbooker.Assignment, error) {
	o.mu.Lock()
	as := o.as
	o.as = nil
	o.mu.Unlock()
	if len(as) == 0 {
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
	return as, nil
}
func (o *oneJob) Start(context.Context, runbooker.JobRef, time.Time) error { return nil }
func (o *oneJob) Heartbeat(_ context.Context, refs []runbooker.JobRef) ([]runbooker.LeaseState, error) {
	return make([]runbooker.LeaseState, len(refs)), nil
}
func (o *oneJob) Append(_ context.Context, _ runbooker.JobRef, recs []runbooker.StreamRecord) error {
	o.mu.Lock()
	o.recs = append(o.recs, recs...)
	o.mu.Unlock()
	return nil
}
func (o *oneJob) Finish(_ context.Context, p runbooker.FinishParams) error {
	o.mu.Lock()
	o.recs = append(o.recs, p.Records...)
	o.mu.Unlock()
	o.finish <- p
	return nil
}

// A PowerShell module an Assignment names reaches the job's process
// through PSModulePath, as <dir>/<Name>/<Version>/<Name>.psd1. There is no
// pwsh here: a Bash script stands in and lists what PowerShell would load.
func TestAssignedModulesReachTheJobProcess(t *testing.T) {
	src := &fakeModules{files: map[string][]byte{}}
	dir := t.TempDir()
	t.Cleanup(func() { removeTree(filepath.Join(dir, "unpacked")) })
	cache, err := OpenModuleCache(src, ModuleCacheConfig{Dir: filepath.Join(dir, "cache"), UnpackDir: filepath.Join(dir, "unpacked")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref := src.add(t, runbooker.ModulePowerShell, "RealmJoin.RunbookHelper", "0.8.3",
		"RealmJoin.RunbookHelper.nuspec", "<package><metadata><id>RealmJoin.RunbookHelper</id><version>0.8.3</version></metadata></package>",
		"RealmJoin.RunbookHelper.psd1", "@{ ModuleVersion = '0.8.3' }", "RealmJoin.RunbookHelper.psm1", "function Get-Hi {}")
	tr := &oneJob{finish: make(chan runbooker.FinishParams, 1)}
	tr.as = []runbooker.Assignment{{
		Job: &runbooker.Job{ID: "job-1", TenantID: runbooker.DefaultTenant, Attempt: 1, Language: runbooker.LangBash,
			Status: runbooker.StatusActivating, NextSeq: 1},
		Script:  []byte("echo \"path=$PSModulePath\"\nls \"$PSModulePath/RealmJoin.RunbookHelper/0.8.3\"\n"),
		Modules: []runbooker.ModuleRef{ref},
	}}
	a := New(tr, Config{Capacity: 1, Interpreters: sandbox.ResolveInterpreters(), Modules: cache}, nil)
	a.Start(context.Background())
	defer a.Stop(time.Second)
	var fp runbooker.FinishParams
	select {
	case fp = <-tr.finish:
	case <-time.After(20 * time.Second):
		t.Fatal("the job did not finish")
	}
	if fp.Status != runbooker.StatusCompleted {
		t.Fatalf("job: %s %s", fp.Status, fp.Exception)
	}
	tr.mu.Lock()
	var out strings.Builder
	for _, r := range tr.recs {
		out.WriteString(r.Text + "\n")
	}
	tr.mu.Unlock()
	want := "path=" + filepath.Join(dir, "unpacked", ref.SHA256) + "\n"
	if !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "RealmJoin.RunbookHelper.psd1") ||
		!strings.Contains(out.String(), "RealmJoin.RunbookHelper.psm1") || strings.Contains(out.String(), ".nuspec") {
		t.Errorf("output:\n%s\nwant %q and the manifest and module (no .nuspec)", out.String(), want)
	}
	if _, err := os.Stat(filepath.Join(dir, "cache", ref.SHA256+".zip")); err != nil {
		t.Errorf("not cached: %v", err)
	}
}
