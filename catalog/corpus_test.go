package catalog

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRealmJoinCorpus builds the form of every PowerShell runbook of a
// checkout of RealmJoin's public catalog (github.com/realmjoin/realmjoin-runbooks)
// named by RUNBOOKER_REALMJOIN_CORPUS, and checks that every entity picker
// and every context field says what to submit, by RealmJoin's rule. The
// catalog is not vendored here; without the variable the test skips.
func TestRealmJoinCorpus(t *testing.T) {
	root := os.Getenv("RUNBOOKER_REALMJOIN_CORPUS")
	if root == "" {
		t.Skip("RUNBOOKER_REALMJOIN_CORPUS is not set")
	}
	var runbooks, pickers, pickersOK, contexts, contextsOK, warnings int
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		scope, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
		if d.IsDir() || !strings.HasSuffix(path, ".ps1") || !isScope(scope) {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		// RealmJoin names a runbook after its path: user/mail/x.ps1 is rjgit-user_mail_x.
		name := "rjgit-" + strings.ToLower(strings.ReplaceAll(strings.TrimSuffix(filepath.ToSlash(rel), ".ps1"), "/", "_"))
		meta, _, err := Analyze(AnalyzeInput{Name: name, FileName: path, Content: src})
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		runbooks++
		warnings += len(meta.Warnings)
		form, _ := BuildForm(meta, name, nil)
		for _, f := range form.Fields {
			attr := ""
			for _, p := range meta.Parameters {
				if p.Name == f.Name && p.UI != nil && strings.EqualFold(p.UI.Type, "graph") {
					attr = p.UI.Attribute
				}
			}
			switch {
			case f.Context:
				contexts++
				if want := ruleOf(f.Entity, f.Name, attr, true); f.Returns == want {
					contextsOK++
				} else {
					t.Errorf("%s: context field %s returns %q, want %q", rel, f.Name, f.Returns, want)
				}
			case f.Control == ControlEntity:
				pickers++
				if want := ruleOf(f.Entity, f.Name, attr, false); f.Returns == want {
					pickersOK++
				} else {
					t.Errorf("%s: picker %s (%s) returns %q, want %q", rel, f.Name, f.Entity, f.Returns, want)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d runbooks, %d warnings from Analyze", runbooks, warnings)
	t.Logf("entity pickers: %d, returns following RealmJoin's rule: %d", pickers, pickersOK)
	t.Logf("context fields: %d, with the returns the rule gives: %d", contexts, contextsOK)
}

// ruleOf restates the rule independently of pickerReturns: the explicit
// attribute; else for a name ending in "name" the UPN (users) or display
// name; else the id — for a device context, its Entra deviceId.
func ruleOf(entity, name, attr string, context bool) string {
	switch {
	case attr != "":
		return attr
	case strings.HasSuffix(strings.ToLower(name), "name") && entity == "user":
		return "userPrincipalName"
	case strings.HasSuffix(strings.ToLower(name), "name"):
		return "displayName"
	case context && entity == "device":
		return "deviceId"
	}
	return "id"
}

func isScope(s string) bool {
	for _, sc := range Scopes {
		if s == sc {
			return true
		}
	}
	return false
}
