package engine

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/sqlite"
)

// On a Windows server the built-in agent cannot switch users, so the
// built-in group refuses a RunAs user instead of failing each of its jobs;
// hybrid groups keep theirs (their Linux workers switch).
func TestBuiltInGroupRefusesRunAsWhereItCannotSwitchUsers(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "e.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e := New(st, Config{}, nil)
	defer func(v bool) { builtInSwitchesUsers = v }(builtInSwitchesUsers)

	builtInSwitchesUsers = false
	err = e.UpdateGroup(ctx, &runbooker.WorkerGroup{TenantID: runbooker.DefaultTenant, Name: runbooker.CloudGroup, RunAs: "svc-jobs"})
	if runbooker.ErrorCode(err) != runbooker.EINVALID || !strings.Contains(err.Error(), "Windows") {
		t.Fatalf("RunAs on the built-in group of a Windows server: %v", err)
	}
	if _, err := e.CreateGroup(ctx, &runbooker.WorkerGroup{TenantID: runbooker.DefaultTenant, Name: "onprem", RunAs: "svc-jobs"}); err != nil {
		t.Fatalf("RunAs on a hybrid group: %v", err)
	}
	builtInSwitchesUsers = true
	if err := e.UpdateGroup(ctx, &runbooker.WorkerGroup{TenantID: runbooker.DefaultTenant, Name: runbooker.CloudGroup, RunAs: "svc-jobs"}); err != nil {
		t.Fatalf("RunAs on the built-in group of a Linux server: %v", err)
	}
}
