package sandbox_test

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/agent"
	"github.com/runbooker/runbooker/sandbox"
)

// assetMap is an agent.AssetSource over fixed values; it records what
// Set-AutomationVariable stored.
type assetMap struct {
	mu   sync.Mutex
	vals map[string]string // "type/name" → JSON
}

func (m *assetMap) Asset(_ context.Context, _ *runbooker.Job, t runbooker.AssetType, name string) (json.RawMessage, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.vals[string(t)+"/"+name]
	if !ok {
		return nil, false, runbooker.Errorf(runbooker.ENOTFOUND, "%s %q not found", t, name)
	}
	return json.RawMessage(v), false, nil
}

func (m *assetMap) SetVariable(_ context.Context, _ *runbooker.Job, name string, value json.RawMessage) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.vals["variable/"+name]; !ok {
		return runbooker.Errorf(runbooker.ENOTFOUND, "variable %q not found", name)
	}
	m.vals["variable/"+name] = string(value)
	return nil
}

// withAssets gives spec a live asset channel over vals.
func withAssets(t *testing.T, spec sandbox.Spec, vals map[string]string) (sandbox.Spec, *assetMap) {
	t.Helper()
	needLanguage(t, runbooker.LangPowerShell)
	src := &assetMap{vals: vals}
	ch, err := agent.OpenChannel(src, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ch.Close() })
	env, bind, revoke := ch.Open(&runbooker.Job{ID: runbooker.NewUUID()}, nil)
	t.Cleanup(revoke)
	spec.Env = env
	spec.OnStart = bind // the token works for this job's processes only
	return spec, src
}

// 1.5, 1.6, 1.9: values travel as UTF-8 both ways; a missing asset is a
// non-terminating error that -ErrorAction SilentlyContinue silences; date-like
// strings stay strings; a one-element array stays an array.
func TestPowerShellAssetVariables(t *testing.T) {
	spec, src := withAssets(t, pwsh(`$g = Get-AutomationVariable -Name greeting
$g
(Get-AutomationVariable when).GetType().Name
$one = Get-AutomationVariable one
$one.GetType().Name + ' ' + $one.Count
$o = Get-AutomationVariable obj
$o.day.GetType().Name + ' ' + $o.list.Count
$none = Get-AutomationVariable -Name missing -ErrorAction SilentlyContinue
'silent: ' + ($null -eq $none)
Get-AutomationVariable -Name missing
'after the error'
Set-AutomationVariable -Name greeting -Value ($g + '!')
Set-AutomationVariable -Name missing -Value 1 -ErrorAction SilentlyContinue
try { Get-AutomationVariable -Name missing -ErrorAction Stop } catch { 'caught: ' + $_.CategoryInfo.Category }
`), map[string]string{
		"variable/greeting": `"Grüße 😀"`,
		"variable/when":     `"2024-05-06T07:08:09Z"`,
		"variable/one":      `["only"]`,
		"variable/obj":      `{"day":"2024-05-06","list":[1]}`,
	})
	res, s := run(t, spec)
	wantStatus(t, res, runbooker.StatusCompleted)
	equal(t, "output", outputOf(s), []string{"Grüße 😀", "String", "Object[] 1", "String 1", "silent: True",
		"after the error", "caught: ObjectNotFound"})
	errs := s.texts(runbooker.StreamError)
	if len(errs) != 1 || !strings.Contains(errs[0], "missing") {
		t.Errorf("error records %q, want one about the missing variable", errs)
	}
	var stored string
	if err := json.Unmarshal([]byte(src.vals["variable/greeting"]), &stored); err != nil || stored != "Grüße 😀!" {
		t.Errorf("Set-AutomationVariable stored %s (%v)", src.vals["variable/greeting"], err)
	}
}

// 1.4: a PFX certificate comes with its key; a PEM certificate is the first
// CERTIFICATE block, with its key on PowerShell 7.
func TestPowerShellAssetCertificates(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile("testdata/cert/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	block, _ := pem.Decode(read("cert.pem"))
	sum := sha1.Sum(block.Bytes)
	thumb := strings.ToUpper(hex.EncodeToString(sum[:]))
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	spec, _ := withAssets(t, pwsh(`foreach ($n in 'pfx', 'pem', 'pem-first', 'cert-only') {
    $c = Get-AutomationCertificate -Name $n
    $n + ' ' + $c.Thumbprint + ' ' + $c.HasPrivateKey
}
Get-AutomationCertificate -Name broken -ErrorAction SilentlyContinue
'done'
`), map[string]string{
		"certificate/pfx":       js(map[string]string{"pfx": base64.StdEncoding.EncodeToString(read("test.pfx")), "password": "test-pw"}),
		"certificate/pem":       js(map[string]string{"pem": string(read("cert-and-key.pem"))}),
		"certificate/pem-first": js(map[string]string{"pem": string(read("cert.pem")) + string(read("other.pem"))}),
		"certificate/cert-only": js(map[string]string{"pem": string(read("cert.pem"))}),
		"certificate/broken":    js(map[string]string{"pem": "not a certificate"}),
	})
	res, s := run(t, spec)
	wantStatus(t, res, runbooker.StatusCompleted)
	equal(t, "output", outputOf(s), []string{"pfx " + thumb + " True", "pem " + thumb + " True",
		"pem-first " + thumb + " False", "cert-only " + thumb + " False", "done"})
}
