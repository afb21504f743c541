package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/engine"
	rbhttp "github.com/runbooker/runbooker/http"
)

// needRoot skips where jobs cannot be isolated; CI runs as root.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("job isolation needs root (CI runs the tests as root)")
	}
}

// strictServer is a server that refuses to start without every protection,
// and keeps warm bash processes as serve does by default: attacks meet
// jobs started both ways, and processes waiting for jobs to come.
func strictServer(t *testing.T) *server {
	needRoot(t)
	return startServer(t, func(c *ServeConfig) {
		c.Isolation.Mode = "strict"
		c.Isolation.WarmBash = defaultWarmBash
	})
}

// tenantClient makes a tenant with an admin credential and returns a client.
func (s *server) tenantClient(tenant string) (*rbhttp.Client, string) {
	s.t.Helper()
	c, secret, err := createCredential(context.Background(), s.m.Store, tenant, "admin-"+tenant, runbooker.RoleAdmin)
	if err != nil {
		s.t.Fatal(err)
	}
	cred := c.ID + ":" + secret
	client, err := rbhttp.NewClient(s.url, cred, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return client, cred
}

// waitOutput polls a job's Output until it holds a line starting with prefix.
func (s *server) waitOutput(tenant, id, prefix string) string {
	s.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		recs, err := s.m.Store.Streams(context.Background(), tenant, id, runbooker.StreamFilter{})
		if err != nil {
			s.t.Fatal(err)
		}
		for _, r := range recs {
			if strings.HasPrefix(r.Text, prefix) {
				return strings.TrimPrefix(r.Text, prefix)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("job %s never wrote %q", id, prefix)
	return ""
}

// TestIsolationAttacksFromARunbookFindNothing replays the attacks of a
// tenant's runbook on another tenant's running job and on the server: the
// /proc scan for asset tokens, a stolen token, the data directory found
// through the parent process, and a process left behind with setsid.
func TestIsolationAttacksFromARunbookFindNothing(t *testing.T) {
	s := strictServer(t)
	ctx := context.Background()
	bClient, _ := s.tenantClient("tenant-b")
	if _, err := s.m.Engine.PutAsset(ctx, engine.AssetInput{TenantID: "tenant-b", Type: runbooker.AssetCredential,
		Name: "b-admin", Value: json.RawMessage(`{"userName":"b","password":"B-tenant-Secret-991"}`)}); err != nil {
		t.Fatal(err)
	}
	// Tenant B's job holds its asset token and shows it (so that the test
	// can hand it to the attacker as if it had been stolen).
	if _, err := bClient.PutRunbook(ctx, "org_general_victim", runbooker.LangBash,
		[]byte("echo \"token:$RB_ASSET_TOKEN\"\nsleep 30\n")); err != nil {
		t.Fatal(err)
	}
	victim, err := bClient.Start(ctx, "org_general_victim", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	stolen := s.waitOutput("tenant-b", victim.JobID, "token:")

	s.put("org_general_attacker", runbooker.LangBash, `
for f in /proc/[0-9]*/environ; do tr '\0' '\n' < "$f" 2>/dev/null; done | grep '^RB_ASSET_TOKEN=' | grep -vc "=$RB_ASSET_TOKEN\$"
tr '\0' ' ' < /proc/$PPID/cmdline 2>&1; echo
DATA=$RB_PARAM_DATA
test -n "$DATA" || exit 9
echo "data entries: $(ls -A "$DATA" 2>/dev/null | wc -l)"
echo "key bytes: $(cat "$DATA/master.key" 2>/dev/null | wc -c)"
echo "db bytes: $(cat "$DATA/runbooker.db" 2>/dev/null | wc -c)"
if out=$(RB_ASSET_TOKEN=$RB_PARAM_STOLEN automation-asset get-credential b-admin 2>&1); then echo "LEAKED $out"; else echo "refused: $out"; fi
setsid sleep 1003.25 &
echo done`)
	res := s.runJSON("org_general_attacker", map[string]any{"DATA": s.m.Config.DataDir, "STOLEN": stolen})
	if res.Status != string(runbooker.StatusCompleted) {
		t.Fatalf("attacker job %s", res.Status)
	}
	var out []string
	for _, r := range res.Streams {
		if r.StreamType == string(runbooker.StreamOutput) {
			out = append(out, r.Summary)
		}
	}
	all := strings.Join(out, "\n")
	if len(out) < 7 || out[0] != "0" {
		t.Errorf("the /proc scan found other jobs' tokens: %q", out)
	}
	for _, leak := range []string{s.m.Config.DataDir, "B-tenant-Secret", "LEAKED"} {
		if strings.Contains(all, leak) {
			t.Errorf("the attacker got %q:\n%s", leak, all)
		}
	}
	for _, want := range []string{"data entries: 0", "key bytes: 0", "db bytes: 0", "refused: automation-asset: this job token belongs to another job"} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in:\n%s", want, all)
		}
	}
	if pids := processesWithArg("1003.25"); len(pids) > 0 {
		t.Errorf("the attacker's setsid process outlived its job: pids %v", pids)
	}
	if _, err := bClient.StopJob(ctx, victim.JobID); err != nil {
		t.Fatal(err)
	}
}

// processesWithArg lists the host's processes with arg in their command line.
func processesWithArg(arg string) []string {
	var out []string
	files, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte("\x00"+arg)) {
			out = append(out, filepath.Base(filepath.Dir(f)))
		}
	}
	return out
}

// TestSecretsAreMaskedInEverySurfaceAndInTheDatabase reads secrets and
// leaks them the ways the issue found: JSON-escaped, Base64, in the
// exception text; none of them reaches any answer or the database file.
func TestSecretsAreMaskedInEverySurfaceAndInTheDatabase(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	const pw = `Pw"With\Quote/Slash<>&`
	const key = "S3cr3t-P@ssw0rd-XYZ"
	for _, a := range []engine.AssetInput{
		engineAsset("credential", "sql", `{"userName":"sa","password":"Pw\"With\\Quote/Slash<>&"}`),
		{TenantID: runbooker.DefaultTenant, Type: runbooker.AssetVariable, Name: "api-key", Value: json.RawMessage(`"` + key + `"`), Encrypted: true},
		engineAsset("variable", "pin", `"123"`),
	} {
		a.Encrypted = a.Encrypted || a.Type == runbooker.AssetVariable
		if _, err := s.m.Engine.PutAsset(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	s.put("org_general_leak-bash", runbooker.LangBash, `automation-asset get-credential sql
P=$(automation-asset get-variable api-key)
automation-asset get-variable pin >/dev/null
echo "raw: $P"
printf '%s' "sa:$P" | base64
printf '%s' "$P" | od -An -c | tr -d ' \n'; echo
echo "final: $P" >&2
exit 3`)
	s.put("org_general_leak-python", runbooker.LangPython, `import json, automationassets
c = automationassets.get_automation_credential("sql")
print(json.dumps(c))
print(json.dumps({"k": automationassets.get_automation_variable("api-key")}, ensure_ascii=True))
raise RuntimeError("login failed for " + c["password"])`)

	leaks := func(text string) []string {
		var found []string
		for _, f := range []string{pw, `Pw\"With\\Quote`, "Quote/Slash", key, base64.StdEncoding.EncodeToString([]byte("sa:" + key))[4:20]} {
			if strings.Contains(text, f) {
				found = append(found, f)
			}
		}
		return found
	}
	for _, name := range []string{"org_general_leak-bash", "org_general_leak-python"} {
		res := s.runJSON(name, nil)
		body, _ := json.Marshal(res)
		if res.Status != string(runbooker.StatusFailed) {
			t.Errorf("%s: %s", name, res.Status)
		}
		if l := leaks(string(body)); len(l) > 0 {
			t.Errorf("%s: the run answer leaks %q: %s", name, l, body)
		}
		if !strings.Contains(string(body), "***") {
			t.Errorf("%s: nothing was masked: %s", name, body)
		}
		for _, path := range []string{"/runbook/jobs/" + res.JobID + "/exception/text", "/api/v1/jobs/" + res.JobID,
			"/runbook/jobs/" + res.JobID + "/output/streams", "/runbook/jobs/" + res.JobID + "/output/text"} {
			st, _, text := s.call("GET", path, s.cred, "")
			if st != 200 {
				t.Fatalf("GET %s: %d %s", path, st, text)
			}
			if l := leaks(text); len(l) > 0 {
				t.Errorf("%s: GET %s leaks %q: %s", name, path, l, text)
			}
		}
		code, stdout, stderr := s.cli("run", name)
		if l := leaks(stdout + stderr); code != 1 || len(l) > 0 {
			t.Errorf("%s: CLI run exit %d leaks %q: %s %s", name, code, l, stdout, stderr)
		}
		if name == "org_general_leak-bash" {
			st, _, text := s.call("GET", "/runbook/jobs/"+res.JobID+"/output/streams?streamTypes=Warning", s.cred, "")
			if st != 200 || !strings.Contains(text, "shorter than 4 characters") {
				t.Errorf("no warning about the 3-character secret: %d %s", st, text)
			}
		}
	}
	// Nothing in the database file or its WAL, checked after a checkpoint
	// would have had its chance to move pages around.
	for _, f := range []string{"runbooker.db", "runbooker.db-wal"} {
		b, err := os.ReadFile(filepath.Join(s.m.Config.DataDir, f))
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			t.Fatal(err)
		}
		if l := leaks(string(b)); len(l) > 0 {
			t.Errorf("%s holds %q", f, l)
		}
		if !bytes.Contains(b, []byte("***")) {
			t.Logf("%s holds no masked text (the WAL may have been checkpointed)", f)
		}
		if strs, err := exec.Command("strings", filepath.Join(s.m.Config.DataDir, f)).Output(); err == nil {
			if l := leaks(string(strs)); len(l) > 0 {
				t.Errorf("strings %s finds %q", f, l)
			}
		}
	}
}

// TestCloudGroupTakesRunAsAndLimits gives the built-in group a RunAs user
// and limits through the API: jobs run as that user, reach their assets,
// and a fork bomb among them stays inside its job while the server answers
// and other jobs finish.
func TestCloudGroupTakesRunAsAndLimits(t *testing.T) {
	s := strictServer(t)
	ctx := context.Background()
	st, _, body := s.call("GET", "/api/v1/groups/cloud", s.cred, "")
	if st != 200 || !strings.Contains(body, `"name":"cloud"`) {
		t.Fatalf("GET cloud: %d %s", st, body)
	}
	st, _, body = s.call("PUT", "/api/v1/groups/cloud", s.cred, `{"runAs":"nobody","maxProcesses":64,"maxRuntimeSeconds":4}`)
	if st != 200 || !strings.Contains(body, `"runAs":"nobody"`) {
		t.Fatalf("PUT cloud: %d %s", st, body)
	}
	for _, bad := range []string{`{"cpuWeight":20000}`, `{"memoryLimit":1000}`, `{"maxProcesses":-1}`, `{"defaultHybrid":true}`} {
		if st, _, body := s.call("PUT", "/api/v1/groups/cloud", s.cred, bad); st != 400 {
			t.Errorf("PUT cloud %s: %d %s", bad, st, body)
		}
	}
	if st, _, _ := s.call("DELETE", "/api/v1/groups/cloud", s.cred, ""); st != 400 {
		t.Errorf("DELETE cloud: %d", st)
	}
	if _, err := s.m.Engine.PutAsset(ctx, engineAsset("variable", "greeting", `"hello from the vault"`)); err != nil {
		t.Fatal(err)
	}
	s.put("org_general_whoami", runbooker.LangPython, "import os, pwd, automationassets\n"+
		"print(pwd.getpwuid(os.getuid()).pw_name, automationassets.get_automation_variable('greeting'))\n")
	s.put("org_general_whoami-bash", runbooker.LangBash, "echo \"$(id -un) $(automation-asset get-variable greeting)\"\n")
	s.put("org_general_bomb", runbooker.LangBash, "bomb() { bomb | bomb & }; bomb; sleep 30\n")
	bomb, err := s.client.Start(ctx, "org_general_bomb", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"org_general_whoami", "org_general_whoami-bash"} {
		res := s.runJSON(name, nil)
		if res.Status != string(runbooker.StatusCompleted) || len(res.Streams) == 0 || res.Streams[0].Summary != "nobody hello from the vault" {
			t.Errorf("%s: %s %+v", name, res.Status, res.Streams)
		}
	}
	if st, _, _ := s.call("GET", "/api/v1/jobs?limit=5", s.cred, ""); st != 200 {
		t.Errorf("the server does not answer beside the bomb: %d", st)
	}
	j := s.waitJob(bomb.JobID)
	if j.Status != runbooker.StatusFailed || !strings.Contains(j.Exception, "runtime limit") {
		t.Errorf("bomb: %s %q", j.Status, j.Exception)
	}
}

// TestBashHelperThatCannotStartFailsTheJob: a runbook whose shell cannot
// find automation-asset fails with an exception that says so, although it
// went on and exited 0.
func TestBashHelperThatCannotStartFailsTheJob(t *testing.T) {
	s := startServer(t)
	s.put("org_general_no-helper", runbooker.LangBash, "PATH=/nonexistent\nautomation-asset get-variable x\necho after\n")
	res := s.runJSON("org_general_no-helper", nil)
	st, _, exc := s.call("GET", "/runbook/jobs/"+res.JobID+"/exception/text", s.cred, "")
	if res.Status != string(runbooker.StatusFailed) || st != 200 || !strings.Contains(exc, "could not be started") {
		t.Errorf("status %s, exception %q", res.Status, exc)
	}
}

// TestDemoWithRelativeDataDirReachesAssets runs serve --demo's defaults: a
// relative data directory. Python and Bash runbooks reach their assets.
func TestDemoWithRelativeDataDirReachesAssets(t *testing.T) {
	t.Chdir(t.TempDir())
	s := startServer(t, func(c *ServeConfig) {
		c.DataDir, c.DB, c.Demo = "data", "sqlite:data/runbooker.db", true
	})
	if _, err := s.m.Engine.PutAsset(context.Background(), engineAsset("variable", "greeting", `"relative works"`)); err != nil {
		t.Fatal(err)
	}
	s.put("org_general_py-asset", runbooker.LangPython, "import automationassets\nprint(automationassets.get_automation_variable('greeting'))\n")
	s.put("org_general_sh-asset", runbooker.LangBash, "automation-asset get-variable greeting\n")
	for _, name := range []string{"org_general_py-asset", "org_general_sh-asset"} {
		res := s.runJSON(name, nil)
		if res.Status != string(runbooker.StatusCompleted) || len(res.Streams) == 0 || res.Streams[0].Summary != "relative works" {
			t.Errorf("%s: %s %+v", name, res.Status, res.Streams)
		}
	}
}

// TestHybridWorkerIsolatesItsJobsAndMasks: a hybrid worker (its own
// process) gives jobs their own user and PID namespace, hides its state
// directory, binds asset tokens to the job and masks what a job read
// before any record reaches the server, under a RunAs user too.
func TestHybridWorkerIsolatesItsJobsAndMasks(t *testing.T) {
	needRoot(t)
	s := startServer(t)
	token := createGroup(t, s, runbooker.WorkerGroup{Name: "onprem"})
	state := t.TempDir()
	startWorker(t, s.url, token, state, "--isolation", "strict").id(t)
	tokenRunAs := createGroup(t, s, runbooker.WorkerGroup{Name: "restricted", RunAs: "nobody"})
	startWorker(t, s.url, tokenRunAs, t.TempDir(), "--isolation", "strict").id(t)
	waitWorkersOnline(t, s.client, "onprem", 1)
	waitWorkersOnline(t, s.client, "restricted", 1)
	if _, err := s.m.Engine.PutAsset(context.Background(), engine.AssetInput{TenantID: runbooker.DefaultTenant,
		Type: runbooker.AssetVariable, Name: "dmz-key", Value: json.RawMessage(`"Dmz-Secret-Value-77"`), Encrypted: true}); err != nil {
		t.Fatal(err)
	}
	s.put("org_general_remote-probe", runbooker.LangBash, `echo "pid $$ uid $(id -u)"
echo "state entries: $(ls -A "$RB_PARAM_STATE" 2>/dev/null | wc -l)"
K=$(automation-asset get-variable dmz-key)
echo "key: $K"
printf '%s' "$K" | base64`)
	s.put("org_general_remote-python", runbooker.LangPython, "import automationassets\nprint('py ' + automationassets.get_automation_variable('dmz-key'))\n")
	for _, group := range []string{"onprem", "restricted"} {
		resp, err := s.client.Start(context.Background(), "org_general_remote-probe", map[string]any{"STATE": state}, group)
		if err != nil {
			t.Fatal(err)
		}
		j := s.waitJob(resp.JobID)
		out, _ := s.client.OutputText(context.Background(), resp.JobID)
		if j.Status != runbooker.StatusCompleted {
			t.Fatalf("%s: %s %q %s", group, j.Status, j.Exception, out)
		}
		wantUID := "uid 2"
		if group == "restricted" {
			wantUID = "uid 65534"
		}
		if !strings.HasPrefix(out, "pid 1 "+wantUID) || !strings.Contains(out, "state entries: 0") || !strings.Contains(out, "key: ***") ||
			strings.Contains(out, "Dmz-Secret") || strings.Contains(out, base64.StdEncoding.EncodeToString([]byte("Dmz-Secret-Value-77"))[:12]) {
			t.Errorf("%s: job output:\n%s", group, out)
		}
		resp, _ = s.client.Start(context.Background(), "org_general_remote-python", nil, group)
		j = s.waitJob(resp.JobID)
		out, _ = s.client.OutputText(context.Background(), resp.JobID)
		if j.Status != runbooker.StatusCompleted || out != "py ***\n" {
			t.Errorf("%s: python job %s %q %s", group, j.Status, out, j.Exception)
		}
	}
}

// TestStrictIsolationRefusesToStartWithoutAProtection: job directories
// inside the data directory cannot be hidden from jobs, so the jail is
// missing; strict refuses to start, auto starts and says so.
func TestStrictIsolationRefusesToStartWithoutAProtection(t *testing.T) {
	needRoot(t)
	dir, err := os.MkdirTemp("", "rb-strict-test-") // t.TempDir's parent is 0700: jobs could not pass
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	cfg := ServeConfig{Listen: "127.0.0.1:0", DataDir: dir, DB: "sqlite:" + dir + "/runbooker.db", RunWait: time.Minute,
		LeaseTTL: 30 * time.Second, Retention: time.Hour, CloudCapacity: 2, MaxRuntime: time.Minute, JobDir: dir,
		Isolation: IsolationFlags{Mode: "strict"}}
	var logs bytes.Buffer
	m := &Main{Config: cfg, Log: slog.New(slog.NewTextHandler(&logs, nil))}
	err = m.Run(context.Background())
	_ = m.Close()
	if err == nil || !strings.Contains(err.Error(), "--isolation strict: missing file system jail") {
		t.Fatalf("strict start: %v", err)
	}
	cfg.Isolation.Mode = "auto"
	logs.Reset()
	m = &Main{Config: cfg, Log: slog.New(slog.NewTextHandler(&logs, nil))}
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("auto start: %v", err)
	}
	_ = m.Close()
	if !strings.Contains(logs.String(), `protection="file system jail" active=false`) {
		t.Errorf("the missing protection is not logged:\n%s", logs.String())
	}
}
