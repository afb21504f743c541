package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

func maskerOf(secrets ...string) *masker {
	m := newMasker(func() []string { return secrets })
	m.refresh()
	return m
}

func TestMaskerHidesEveryForm(t *testing.T) {
	const pw = `Pw"With\Quote/Slash<>&'ü€𝄞`
	m := maskerOf(pw)
	goJSON, _ := json.Marshal(map[string]string{"password": pw})
	cases := map[string]string{
		"raw":              "password: " + pw,
		"go json":          string(goJSON),
		"minimal json":     `{"password":"Pw\"With\\Quote/Slash<>&'ü€𝄞"}`,
		"python json":      `{"password": "Pw\"With\\Quote/Slash<>&'\u00fc\u20ac\ud834\udd1e"}`,
		"ps 5.1 json":      `{"password":"Pw\"With\\Quote/Slash\u003c\u003e\u0026\u0027ü€𝄞"}`,
		"slash json":       `{"password":"Pw\"With\\Quote\/Slash<>&'ü€𝄞"}`,
		"query":            "https://x/?p=" + url.QueryEscape(pw),
		"path":             "https://x/" + url.PathEscape(pw),
		"base64 alone":     base64.StdEncoding.EncodeToString([]byte(pw)),
		"base64 basic":     "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("sa:"+pw)),
		"base64 offset 2":  base64.StdEncoding.EncodeToString([]byte("ab" + pw + "tail")),
		"base64url offset": base64.URLEncoding.EncodeToString([]byte("a" + pw)),
	}
	for name, text := range cases {
		got := m.text(text)
		if !strings.Contains(got, "***") {
			t.Errorf("%s: nothing masked in %q", name, got)
		}
		for _, leak := range []string{"Quote", "UXVvdGU", "Slash"} {
			if strings.Contains(got, leak) {
				t.Errorf("%s: %q still shows %q", name, got, leak)
			}
		}
	}
}

func TestMaskerMultiLineSecretLineByLine(t *testing.T) {
	key := "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END KEY-----\n"
	m := maskerOf(key)
	for _, line := range strings.Split(strings.TrimSpace(key), "\n") {
		if got := m.text("line: " + line); got != "line: ***" {
			t.Errorf("line %q masked to %q", line, got)
		}
	}
	if got := m.text(strings.ReplaceAll(key, "\n", `\n`)); strings.Contains(got, "MIIEvQ") {
		t.Errorf("JSON form of the key leaks: %q", got)
	}
}

func TestMaskerWarnsAboutShortSecretsAndLeavesOutputAlone(t *testing.T) {
	m := newMasker(func() []string { return []string{"abc", "abc", "long-enough"} })
	notes := m.refresh()
	if len(notes) != 1 || !strings.Contains(notes[0], "shorter than 4") {
		t.Errorf("notes %q", notes)
	}
	if got := m.text("abc and long-enough"); got != "abc and ***" {
		t.Errorf("masked %q", got)
	}
}

func TestMaskerKeepsValuesValidJSON(t *testing.T) {
	m := maskerOf("nabc\\")
	// The secret's raw form matches across the escape "\n" in the value's
	// text; the masked value must still be JSON, with the secret gone.
	v := json.RawMessage(`{"a":"x\nabc\\y","nabc\\":1}`)
	got := m.value(v)
	if !json.Valid(got) {
		t.Fatalf("invalid JSON %s", got)
	}
	var doc map[string]any
	_ = json.Unmarshal(got, &doc)
	if _, ok := doc["nabc\\"]; ok {
		t.Errorf("key not masked: %s", got)
	}
	if m.value(json.RawMessage(`{"ok":1}`)) == nil {
		t.Error("unrelated value lost")
	}
}

func TestMaskerWithoutSecretsChangesNothing(t *testing.T) {
	var m *masker
	if m.text("x") != "x" || string(m.value(json.RawMessage(`1`))) != "1" || m.refresh() != nil {
		t.Error("a nil masker changed something")
	}
}

func FuzzMaskForms(f *testing.F) {
	f.Add("S3cr3t-P@ssw0rd-XYZ", "x")
	f.Add("Pw\"With\\Quote/Slash<>&", "user:")
	f.Fuzz(func(t *testing.T, secret, prefix string) {
		if len([]rune(strings.TrimSpace(secret))) < MinMaskLength || strings.ContainsAny(secret, "\r\n") {
			return
		}
		m := maskerOf(secret)
		for _, text := range []string{prefix + secret, base64.StdEncoding.EncodeToString([]byte(prefix + secret))} {
			got := m.text(text)
			if strings.Contains(got, secret) {
				t.Fatalf("%q still holds the secret after masking: %q", text, got)
			}
		}
		v, _ := json.Marshal(map[string]string{prefix: secret})
		if got := m.value(v); !json.Valid(got) {
			t.Fatalf("masked value %s is not JSON", got)
		}
	})
}
