package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
)

// zipFile writes a zip of name → content pairs.
func zipFile(t *testing.T, files ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i+1 < len(files); i += 2 {
		w, err := zw.Create(files[i])
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(files[i+1]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// greetWheel is a tiny pure-Python package: greet.hello() says its version.
func greetWheel(t *testing.T, version string) (string, []byte) {
	return "greet-" + version + "-py3-none-any.whl", zipFile(t,
		"greet/__init__.py", "def hello(name):\n    return 'hello ' + name + ' from greet "+version+"'\n",
		"greet-"+version+".dist-info/METADATA", "Metadata-Version: 2.1\nName: greet\nVersion: "+version+"\n",
		"greet-"+version+".dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestModuleUploadListGetDeleteThroughCLIAndAPI(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	name, whl := greetWheel(t, "0.1.0")
	code, out, errs := s.cli("module", "upload", writeTemp(t, name, whl))
	if code != 0 || !strings.Contains(out, "uploaded py greet 0.1.0") {
		t.Fatalf("upload wheel: %d %q %q", code, out, errs)
	}
	ps := zipFile(t, "RealmJoin.RunbookHelper/0.8.3/RealmJoin.RunbookHelper.psd1", "@{\n ModuleVersion = '0.8.3'\n}\n",
		"RealmJoin.RunbookHelper/0.8.3/RealmJoin.RunbookHelper.psm1", "function Get-Hi { 'hi' }\n")
	if code, out, errs := s.cli("module", "upload", writeTemp(t, "helper.zip", ps)); code != 0 || !strings.Contains(out, "uploaded ps RealmJoin.RunbookHelper 0.8.3") {
		t.Fatalf("upload module: %d %q %q", code, out, errs)
	}
	code, out, _ = s.cli("module", "list")
	if code != 0 || !strings.Contains(out, "RealmJoin.RunbookHelper") || !strings.Contains(out, "greet") || !strings.Contains(out, runbooker.ContentHash(whl)) {
		t.Errorf("list: %d %q", code, out)
	}
	m, err := s.client.Module(ctx, runbooker.ModulePython, "Greet", "0.1.0")
	if err != nil || m.SHA256 != runbooker.ContentHash(whl) || m.Size != int64(len(whl)) || m.FileName != name {
		t.Errorf("get: %+v %v", m, err)
	}
	// PUT names what it uploads; the file must agree.
	st, _, body := s.call("PUT", "/api/v1/modules/py/greet/0.2.0", s.cred, string(whl))
	if st != http.StatusBadRequest || !strings.Contains(body, "not version 0.2.0") {
		t.Errorf("PUT with another version: %d %s", st, body)
	}
	if st, _, body := s.call("PUT", "/api/v1/modules/py/greet/0.1.0", s.cred, string(whl)); st != http.StatusCreated {
		t.Errorf("PUT: %d %s", st, body)
	}
	st, _, body = s.call("POST", "/api/v1/modules", s.cred, "../../not a zip")
	if st != http.StatusBadRequest || !strings.Contains(body, "not a zip") {
		t.Errorf("POST garbage: %d %s", st, body)
	}
	// Admin only.
	op, secret, err := createCredential(ctx, s.m.Store, runbooker.DefaultTenant, "op", runbooker.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	if st, _, _ := s.call("GET", "/api/v1/modules", op.ID+":"+secret, ""); st != http.StatusForbidden {
		t.Errorf("an operator listed modules: %d", st)
	}
	if code, _, errs := s.cli("module", "delete", "py", "greet", "0.1.0"); code != 0 {
		t.Errorf("delete: %d %s", code, errs)
	}
	audit, err := s.m.Store.ListAudit(ctx, runbooker.DefaultTenant, runbooker.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range audit {
		actions = append(actions, a.Action+" "+a.Object)
	}
	all := strings.Join(actions, "\n")
	for _, want := range []string{"module.upload py/greet/0.1.0", "module.upload ps/RealmJoin.RunbookHelper/0.8.3", "module.delete py/greet/0.1.0"} {
		if !strings.Contains(all, want) {
			t.Errorf("audit log lacks %q:\n%s", want, all)
		}
	}
	if _, err := s.client.Module(ctx, runbooker.ModulePython, "greet", "0.1.0"); runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
		t.Errorf("after delete: %v", err)
	}
}

func TestModulesReachHybridWorkersOnce(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	proxy, calls := countingProxy(t, s.url)
	fetches := func() int {
		return calls.count(func(path string) bool { return strings.HasPrefix(path, "/api/worker/v1/modules/") })
	}
	token := createGroup(t, s, runbooker.WorkerGroup{Name: "onprem"})
	state := t.TempDir()
	startWorker(t, proxy.URL, token, state).id(t)
	waitWorkersOnline(t, s.client, "onprem", 1)
	for _, v := range []string{"0.1.0", "0.2.0"} {
		name, whl := greetWheel(t, v)
		if _, err := s.client.UploadModule(ctx, name, whl); err != nil {
			t.Fatal(err)
		}
	}
	s.put("org_general_greet", runbooker.LangPython, "# requirements: greet==0.1.0\nimport greet\nprint(greet.hello('ada'))\n")
	s.put("org_general_greetnewest", runbooker.LangPython, "# requirements: greet\nimport greet, os\nprint(greet.hello('bob'))\n")
	run := func(name string) *runbooker.Job {
		t.Helper()
		resp, err := s.client.Start(ctx, name, nil, "onprem")
		if err != nil {
			t.Fatal(err)
		}
		j := s.waitJob(resp.JobID)
		if j.Status != runbooker.StatusCompleted {
			t.Fatalf("%s: %s %s", name, j.Status, j.Exception)
		}
		return j
	}
	output := func(j *runbooker.Job) string {
		t.Helper()
		recs, err := s.m.Store.Streams(ctx, runbooker.DefaultTenant, j.ID, runbooker.StreamFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, r := range recs {
			b.WriteString(r.Text + "\n")
		}
		return b.String()
	}
	if out := output(run("org_general_greet")); !strings.Contains(out, "hello ada from greet 0.1.0") {
		t.Errorf("first job's output: %q", out)
	}
	if n := fetches(); n != 1 {
		t.Errorf("module fetches after the first job: %d, want 1", n)
	}
	if out := output(run("org_general_greet")); !strings.Contains(out, "hello ada from greet 0.1.0") {
		t.Errorf("second job's output: %q", out)
	}
	if n := fetches(); n != 1 {
		t.Errorf("module fetches after the second job: %d, want still 1 (cached)", n)
	}
	if out := output(run("org_general_greetnewest")); !strings.Contains(out, "hello bob from greet 0.2.0") {
		t.Errorf("newest: %q", out)
	}
	if n := fetches(); n != 2 {
		t.Errorf("module fetches after the newest version: %d, want 2", n)
	}
	ents, _ := os.ReadDir(filepath.Join(state, "modules"))
	if len(ents) != 2 {
		t.Errorf("the worker's cache holds %d entries, want 2", len(ents))
	}

	// A requirement no upload provides is refused when the job is asked
	// for, naming it (the CLI says so too).
	s.put("org_general_missing", runbooker.LangPython, "# requirements: greet==9.9\nimport greet\n")
	_, err := s.client.Start(ctx, "org_general_missing", nil, "onprem")
	if runbooker.ErrorCode(err) != runbooker.EINVALID || !strings.Contains(runbooker.ErrorMessage(err), "Python package greet 9.9, which no upload provides") {
		t.Errorf("missing requirement: %v", err)
	}
	if code, _, errs := s.cli("run", "org_general_missing", "--run-on", "onprem"); code == 0 || !strings.Contains(errs, "greet 9.9") {
		t.Errorf("CLI run of a runbook missing a requirement: %d %q", code, errs)
	}

	// A worker gets only its own tenant's content.
	var id workerIdentity
	b, _ := os.ReadFile(filepath.Join(state, "worker.json"))
	_ = json.Unmarshal(b, &id)
	if st, _, _ := s.call("GET", "/api/worker/v1/modules/"+strings.Repeat("0", 64), id.WorkerID+":"+id.Secret, ""); st != http.StatusNotFound {
		t.Errorf("unknown content: %d", st)
	}
	if st, _, _ := s.call("GET", "/api/worker/v1/modules/"+runbooker.ContentHash([]byte("x")), s.cred, ""); st != http.StatusUnauthorized {
		t.Errorf("a tenant credential fetched module content: %d", st)
	}
}

func TestModuleWheelOnTheBuiltInGroup(t *testing.T) {
	s := startServer(t)
	name, whl := greetWheel(t, "1.0")
	if _, err := s.client.UploadModule(context.Background(), name, whl); err != nil {
		t.Fatal(err)
	}
	// hello-app depends on greet: the runbook names only hello-app.
	app := zipFile(t, "hello_app/__init__.py", "import greet\ndef run():\n    print(greet.hello('cy'))\n",
		"hello_app-2.0.dist-info/METADATA", "Name: hello-app\nVersion: 2.0\nRequires-Dist: greet\n")
	if _, err := s.client.UploadModule(context.Background(), "hello_app-2.0-py3-none-any.whl", app); err != nil {
		t.Fatal(err)
	}
	s.put("org_general_cloudgreet", runbooker.LangPython, "# requirements: Hello_App\nimport hello_app\nhello_app.run()\n")
	out := s.runJSON("org_general_cloudgreet", nil)
	b, _ := json.Marshal(out)
	if out.Status != string(runbooker.StatusCompleted) || !strings.Contains(string(b), "hello cy from greet 1.0") {
		t.Errorf("run: %+v", out)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.m.Config.DataDir, "modules")); len(ents) != 2 {
		t.Errorf("the built-in cache under the data dir holds %d entries", len(ents))
	}
}
