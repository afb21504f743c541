package engine_test

import (
	"archive/zip"
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/catalog"
	"github.com/runbooker/runbooker/engine"
)

func zipOf(t *testing.T, files ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i+1 < len(files); i += 2 {
		w, _ := zw.Create(files[i])
		_, _ = w.Write([]byte(files[i+1]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func psModule(t *testing.T, name, version string) []byte {
	return zipOf(t, name+"/"+version+"/"+name+".psd1", "@{ ModuleVersion = '"+version+"' }")
}

func wheel(t *testing.T, name, version string) []byte {
	return zipOf(t, name+"/__init__.py", "", name+"-"+version+".dist-info/METADATA", "Name: "+name+"\nVersion: "+version+"\n")
}

func TestUploadModuleChecksWhatTheURLSays(t *testing.T) {
	e, _ := newEngine(t)
	ctx := context.Background()
	up := func(p engine.UploadModuleParams) (*runbooker.ModuleRecord, error) {
		p.TenantID = runbooker.DefaultTenant
		return e.UploadModule(ctx, p)
	}
	m, err := up(engine.UploadModuleParams{FileName: "h.zip", Content: psModule(t, "Hello", "1.0.0")})
	if err != nil || m.Kind != runbooker.ModulePowerShell || m.Name != "Hello" || m.Version != "1.0.0" || m.FileName != "h.zip" {
		t.Fatalf("upload: %+v %v", m, err)
	}
	for _, p := range []engine.UploadModuleParams{
		{Content: psModule(t, "Hello", "1.0.0"), Kind: runbooker.ModulePython},
		{Content: psModule(t, "Hello", "1.0.0"), Kind: runbooker.ModulePowerShell, Name: "Other"},
		{Content: psModule(t, "Hello", "1.0.0"), Kind: runbooker.ModulePowerShell, Name: "hello", Version: "2.0"},
		{Content: []byte("not a zip")},
	} {
		if _, err := up(p); runbooker.ErrorCode(err) != runbooker.EINVALID {
			t.Errorf("upload %+v: %v, want EINVALID", p.Kind+runbooker.ModuleKind(p.Name+p.Version), err)
		}
	}
}

func TestResolveModules(t *testing.T) {
	e, _ := newEngine(t)
	ctx := context.Background()
	tenant := runbooker.DefaultTenant
	ps := func(src string) ([]runbooker.ModuleRef, error) {
		return e.ResolveModules(ctx, tenant, runbooker.LangPowerShell, []byte(src))
	}
	py := func(src string) ([]runbooker.ModuleRef, error) {
		return e.ResolveModules(ctx, tenant, runbooker.LangPython, []byte(src))
	}
	const requiresHelper = "#Requires -Modules @{ModuleName = 'RealmJoin.RunbookHelper'; ModuleVersion = '0.8.3'}, Az.Accounts\n'hi'\n"
	// No PowerShell module uploaded: everything comes from the worker's environment, as before.
	if refs, err := ps(requiresHelper); err != nil || refs != nil {
		t.Fatalf("without uploads: %v %v", refs, err)
	}
	// Python requirements are always resolved against uploads.
	if _, err := py("# requirements: greet==0.1.0\nimport greet\n"); err == nil ||
		!strings.Contains(runbooker.ErrorMessage(err), "the runbook requires the Python package greet 0.1.0, which no upload provides") {
		t.Errorf("missing wheel: %v", err)
	}
	for _, v := range []string{"0.1.0", "0.10.0", "0.9.1"} {
		if _, err := e.UploadModule(ctx, engine.UploadModuleParams{TenantID: tenant, Content: wheel(t, "greet", v)}); err != nil {
			t.Fatal(err)
		}
	}
	refs, err := py("# requirements: Greet\n")
	if err != nil || len(refs) != 1 || refs[0].Version != "0.10.0" || refs[0].SHA256 == "" {
		t.Errorf("newest wheel: %+v %v", refs, err)
	}
	refs, err = py("# requirements: greet==0.9.1\n")
	if err != nil || len(refs) != 1 || refs[0].Version != "0.9.1" {
		t.Errorf("pinned wheel: %+v %v", refs, err)
	}
	// A wheel's uploaded dependencies come with it, pinned where it pins.
	app := zipOf(t, "app/__init__.py", "", "app-1.0.dist-info/METADATA",
		"Name: app\nVersion: 1.0\nRequires-Dist: greet (==0.9.1)\nRequires-Dist: six>=1.0\n")
	if m, err := e.UploadModule(ctx, engine.UploadModuleParams{TenantID: tenant, Content: app}); err != nil || len(m.Requires) != 2 {
		t.Fatalf("upload app: %+v %v", m, err)
	}
	refs, err = py("# requirements: app\n")
	if err != nil || len(refs) != 2 || refs[0].Name != "app" || refs[1].Name != "greet" || refs[1].Version != "0.9.1" {
		t.Errorf("with dependencies: %+v %v", refs, err)
	}
	// Once the tenant uploads a PowerShell module, requirements are checked;
	// the well-known Azure modules stay the worker's environment's.
	if _, err := e.UploadModule(ctx, engine.UploadModuleParams{TenantID: tenant, Content: psModule(t, "RealmJoin.RunbookHelper", "0.8.2")}); err != nil {
		t.Fatal(err)
	}
	_, err = ps(requiresHelper)
	if msg := runbooker.ErrorMessage(err); !strings.Contains(msg, "PowerShell module RealmJoin.RunbookHelper 0.8.3 or newer, which no upload provides") ||
		!strings.Contains(msg, "uploaded versions: 0.8.2") {
		t.Errorf("missing version: %v", err)
	}
	// ModuleVersion is a minimum, RequiredVersion exact.
	if _, err := e.UploadModule(ctx, engine.UploadModuleParams{TenantID: tenant, Content: psModule(t, "RealmJoin.RunbookHelper", "0.8.4")}); err != nil {
		t.Fatal(err)
	}
	refs, err = ps(requiresHelper)
	if err != nil || len(refs) != 1 || refs[0].Name != "RealmJoin.RunbookHelper" || refs[0].Version != "0.8.4" || refs[0].Kind != runbooker.ModulePowerShell {
		t.Errorf("resolved: %+v %v", refs, err)
	}
	const exact = "#Requires -Modules @{ModuleName = 'RealmJoin.RunbookHelper'; RequiredVersion = '0.8.3'}\n"
	if _, err := ps(exact); !strings.Contains(runbooker.ErrorMessage(err), "RealmJoin.RunbookHelper 0.8.3, which no upload provides") {
		t.Errorf("RequiredVersion not uploaded: %v", err)
	}
	if _, err := e.UploadModule(ctx, engine.UploadModuleParams{TenantID: tenant, Content: psModule(t, "RealmJoin.RunbookHelper", "0.8.3")}); err != nil {
		t.Fatal(err)
	}
	if refs, err := ps(exact); err != nil || len(refs) != 1 || refs[0].Version != "0.8.3" {
		t.Errorf("RequiredVersion: %+v %v", refs, err)
	}
	if refs, err := ps("'no requires'\n"); err != nil || refs != nil {
		t.Errorf("no requirements: %v %v", refs, err)
	}
}

func TestMissingModuleFailsAtCreationAndAtClaim(t *testing.T) {
	e, _ := newEngine(t)
	ctx := context.Background()
	tenant := runbooker.DefaultTenant
	if _, _, err := catalog.Put(ctx, e.Store(), catalog.PutInput{TenantID: tenant, Name: "org_general_greet",
		Language: runbooker.LangPython, Content: []byte("# requirements: greet==0.1.0\nimport greet\n")}); err != nil {
		t.Fatal(err)
	}
	start := func() (*runbooker.Job, error) {
		return e.CreateJob(ctx, engine.CreateJobParams{TenantID: tenant, RunbookName: "org_general_greet", Caller: "t"})
	}
	if _, err := start(); runbooker.ErrorCode(err) != runbooker.EINVALID ||
		!strings.Contains(runbooker.ErrorMessage(err), "Python package greet 0.1.0, which no upload provides") {
		t.Fatalf("creation without the wheel: %v", err)
	}
	if _, err := e.UploadModule(ctx, engine.UploadModuleParams{TenantID: tenant, Content: wheel(t, "greet", "0.1.0")}); err != nil {
		t.Fatal(err)
	}
	j, err := start()
	if err != nil {
		t.Fatal(err)
	}
	// The upload goes away before a worker claims the job: the claim fails it.
	if err := e.DeleteModule(ctx, tenant, runbooker.ModulePython, "greet", "0.1.0"); err != nil {
		t.Fatal(err)
	}
	as, err := e.Claim(ctx, engine.ClaimRequest{Group: runbooker.CloudGroup, WorkerID: "w", Limit: 1})
	if err != nil || len(as) != 0 {
		t.Fatalf("claim handed out %d jobs (%v)", len(as), err)
	}
	got, err := e.Job(ctx, tenant, j.ID)
	if err != nil || got.Status != runbooker.StatusFailed || !strings.Contains(got.Exception, "greet 0.1.0, which no upload provides") {
		t.Errorf("after the claim: %+v %v", got, err)
	}
}
