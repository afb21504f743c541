package catalog

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	runbooker "github.com/runbooker/runbooker"
)

const psSample = `<#
  .SYNOPSIS
  Switch out-of-office replies on or off.

  .DESCRIPTION
  Sets automatic replies for a mailbox.

  .INPUTS
  RunbookCustomization: {
        "Parameters": {
            "Disable": {
                "DisplayName": "Out-of-office",
                "SelectSimple": {"Switch on": false, "Switch off": true}, // comment
            },
            "UserName": {"Hide": true},
            "UserName": {"Hide": true},
        }
    }
#>

#Requires -Modules @{ModuleName = "RealmJoin.RunbookHelper"; ModuleVersion = "0.8.3" }

param(
    [Parameter(Mandatory = $true)]
    [string] $UserName,
    [bool] $Disable = $false,
    [ValidateScript( { Use-RJInterface -Type Textarea } )]
    [string] $Message = "Away",
    [Parameter(Mandatory = $true)]
    [string] $CallerName
)
"## done"
`

func TestAnalyzePowerShell(t *testing.T) {
	meta, lang, err := Analyze(AnalyzeInput{
		Name: "rjgit-user_mail_set-out-of-office_scheduled", FileName: "set-out-of-office_scheduled.ps1", Content: []byte(psSample),
		Permissions: []byte(`{"Permissions": [{"Name": "Exchange.ManageAsApp",},],}`), Markdown: "# Notes",
	})
	if err != nil {
		t.Fatal(err)
	}
	if meta.ParseError != nil {
		t.Fatalf("ParseError = %v", meta.ParseError)
	}
	if lang != runbooker.LangPowerShell || meta.DisplayName != "Set Out Of Office" || !meta.Scheduled || meta.Hybrid {
		t.Errorf("lang %s, meta %+v", lang, meta)
	}
	if meta.Synopsis != "Switch out-of-office replies on or off." || meta.ContextParameter != "UserName" || meta.Markdown != "# Notes" {
		t.Errorf("meta = %+v", meta)
	}
	if len(meta.Parameters) != 4 || len(meta.RequiredModules) != 1 {
		t.Errorf("parameters %+v, modules %+v", meta.Parameters, meta.RequiredModules)
	}
	if len(meta.Warnings) != 0 {
		t.Errorf("warnings: %v", meta.Warnings)
	}
	if !json.Valid(meta.Customization) || !strings.Contains(string(meta.Customization), `"SelectSimple":{"Switch on":false,"Switch off":true}`) {
		t.Errorf("Customization = %s", meta.Customization)
	}
	if string(meta.Permissions) != `{"Permissions":[{"Name":"Exchange.ManageAsApp"}]}` {
		t.Errorf("Permissions = %s", meta.Permissions)
	}
	if _, err := json.Marshal(meta); err != nil {
		t.Errorf("RunbookMeta must serialise: %v", err)
	}
	form, warnings := BuildForm(meta, "rjgit-user_mail_set-out-of-office_scheduled", nil)
	if len(warnings) != 0 {
		t.Errorf("form warnings: %v", warnings)
	}
	if f := fieldByKey(t, form, "Disable"); f.Control != ControlSelect || f.Label != "Out-of-office" || len(f.Options) != 2 {
		t.Errorf("Disable = %+v", f)
	}
	if f := fieldByKey(t, form, "Message"); f.Control != ControlTextarea || f.Default != "Away" {
		t.Errorf("Message = %+v", f)
	}
	if f := fieldByKey(t, form, "UserName"); !f.Context || f.Control != ControlHidden {
		t.Errorf("UserName = %+v", f)
	}
}

// A mandatory [string] with the default "" cannot run when the caller
// leaves it out (PowerShell refuses "" for a mandatory parameter), so the
// default is dropped with a warning; a usable default stays.
func TestAnalyzeRefusesEmptyMandatoryDefault(t *testing.T) {
	meta, _, err := Analyze(AnalyzeInput{Name: "org_general_empty-default", FileName: "x.ps1", Content: []byte(`param(
    [Parameter(Mandatory = $true)][string] $Note = "",
    [Parameter(Mandatory = $true)][bool] $Notify = $true,
    [string] $Optional = ""
)`)})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]runbooker.Parameter{}
	for _, p := range meta.Parameters {
		byName[p.Name] = p
	}
	if p := byName["Note"]; p.Default != nil || !p.Mandatory {
		t.Errorf("Note = %+v, want mandatory without default", p)
	}
	if p := byName["Notify"]; p.Default != true || byName["Optional"].Default != "" {
		t.Errorf("usable defaults changed: %+v", meta.Parameters)
	}
	if len(meta.Warnings) != 1 || !strings.Contains(meta.Warnings[0].Message, "$Note") {
		t.Errorf("warnings %+v, want one naming $Note", meta.Warnings)
	}
	if _, err := runbooker.BindParameters(meta.Parameters, map[string]any{}, ""); err == nil || !strings.Contains(err.Error(), `"Note"`) {
		t.Errorf("binding without Note: %v", err)
	}
}

func TestAnalyzeCustomizationWarnings(t *testing.T) {
	broken := strings.Replace(psSample, `"Hide": true},
            "UserName"`, `"Hide": true}
            "UserName"`, 1)
	meta, _, err := Analyze(AnalyzeInput{Name: "user_mail_x", FileName: "x.ps1", Content: []byte(broken)})
	if err != nil || meta.ParseError != nil {
		t.Fatalf("err %v, ParseError %v", err, meta.ParseError)
	}
	if meta.Customization != nil || len(meta.Warnings) != 1 {
		t.Fatalf("Customization %s, warnings %v", meta.Customization, meta.Warnings)
	}
	if w := meta.Warnings[0]; w.Source != "customization" || w.Line != 16 || w.Column != 13 || !strings.Contains(w.Message, "expected ',' or '}'") {
		t.Errorf("warning = %+v, want customization at 16:13", w)
	}
	// A well-formed block naming a parameter that does not exist warns at the name.
	unknown := strings.Replace(psSample, `"UserName": {"Hide": true},
            "UserName"`, `"UserName": {"Hide": true},
            "Mailbox"`, 1)
	meta, _, _ = Analyze(AnalyzeInput{Name: "user_mail_x", Language: runbooker.LangPowerShell, Content: []byte(unknown)})
	if len(meta.Warnings) != 1 || meta.Warnings[0].Line != 16 || meta.Warnings[0].Column != 24 || !strings.Contains(meta.Warnings[0].Message, `"Mailbox"`) {
		t.Errorf("warnings = %+v", meta.Warnings)
	}
	if meta.Customization == nil {
		t.Error("a semantically odd customization is still stored")
	}
}

func TestAnalyzeParseFailure(t *testing.T) {
	for _, in := range []AnalyzeInput{
		{Name: "rjgit-org_general_broken", FileName: "broken.ps1", Content: []byte("param(\n  [string] $A = \"unterminated\n")},
		{Name: "rjgit-org_general_broken", FileName: "broken.py", Content: []byte("def main(a,\n")},
		{Name: "rjgit-org_general_broken", FileName: "broken.sh", Content: []byte("# @param A wat\n")},
	} {
		meta, _, err := Analyze(in)
		if err != nil {
			t.Fatalf("%s: %v", in.FileName, err)
		}
		if meta.ParseError == nil || meta.ParseError.Source != "script" || meta.ParseError.Line == 0 {
			t.Errorf("%s: ParseError = %+v", in.FileName, meta.ParseError)
		}
		if meta.DisplayName != "Broken" || meta.Parameters == nil {
			t.Errorf("%s: meta = %+v", in.FileName, meta)
		}
	}
}

func TestAnalyzePythonAndBash(t *testing.T) {
	meta, lang, err := Analyze(AnalyzeInput{Name: "rjgit-user_general_rotate-keys_hybrid", FileName: "rotate-keys_hybrid.py", Content: []byte(pySample)})
	if err != nil || lang != runbooker.LangPython || meta.ParseError != nil {
		t.Fatalf("python: %v %s %v", err, lang, meta.ParseError)
	}
	if !meta.Hybrid || meta.ContextParameter != "UserName" || len(meta.Parameters) != 14 || string(meta.Customization) != `{"Parameters":{"UserName":{"Hide":true}}}` {
		t.Errorf("python meta = %+v, customization %s", meta, meta.Customization)
	}
	meta, lang, err = Analyze(AnalyzeInput{Name: "device_linux_rotate-password", Language: runbooker.LangBash, Content: []byte(bashSample)})
	if err != nil || lang != runbooker.LangBash || meta.ParseError != nil {
		t.Fatalf("bash: %v %s %v", err, lang, meta.ParseError)
	}
	if meta.Synopsis == "" || len(meta.Parameters) != 7 || meta.ContextParameter != "" || len(meta.Warnings) != 0 {
		t.Errorf("bash meta = %+v", meta)
	}
	form, _ := BuildForm(meta, "device_linux_rotate-password", nil)
	if f := fieldByKey(t, form, "Mode"); f.Label != "Generator" || f.Control != ControlSelect {
		t.Errorf("bash Mode field = %+v", f)
	}
	if f := fieldByKey(t, form, "HostName"); f.Control != ControlEntity || f.Entity != "device" || f.Label != "Host" {
		t.Errorf("bash HostName field = %+v", f)
	}
}

func TestAnalyzeErrors(t *testing.T) {
	for _, in := range []AnalyzeInput{
		{Name: "User_general_x", FileName: "x.ps1"},
		{Name: "user_general_x", FileName: "x.txt"},
		{Name: "user_general_x", Language: "ruby"},
	} {
		if _, _, err := Analyze(in); runbooker.ErrorCode(err) != runbooker.EINVALID {
			t.Errorf("Analyze(%+v) err = %v, want invalid", in, err)
		}
	}
	meta, _, err := Analyze(AnalyzeInput{Name: "org_general_x", FileName: "x.sh", Content: []byte("echo"), Permissions: []byte("{\n  \"a\": ,\n}")})
	if err != nil || len(meta.Warnings) != 1 || meta.Warnings[0].Source != "permissions" || meta.Warnings[0].Line != 2 || meta.Permissions != nil {
		t.Errorf("broken permissions: err %v meta %+v", err, meta)
	}
}

func TestAnalyzeUndeclaredParameters(t *testing.T) {
	for file, src := range map[string]string{
		"free.py": "import sys\nprint(sys.argv)\n",
		"free.sh": "#!/bin/bash\necho \"$@\"\n",
	} {
		meta, _, err := Analyze(AnalyzeInput{Name: "org_general_free", FileName: file, Content: []byte(src)})
		if err != nil || meta.ParseError != nil {
			t.Fatalf("%s: %v %v", file, err, meta.ParseError)
		}
		if meta.Parameters != nil {
			t.Errorf("%s: parameters %v, want nil (undeclared: free-form arguments)", file, meta.Parameters)
		}
	}
	meta, _, _ := Analyze(AnalyzeInput{Name: "org_general_none", FileName: "none.ps1", Content: []byte("Write-Output 1\n")})
	if meta.Parameters == nil || len(meta.Parameters) != 0 {
		t.Errorf("a PowerShell script without param() declares none: %v", meta.Parameters)
	}
}

// TestAnalyzeLimits: a script past MaxScriptSize or declaring more than
// MaxParameters is refused (EINVALID) with a message naming the limit, in
// every language; at the limits it is taken.
func TestAnalyzeLimits(t *testing.T) {
	params := func(lang runbooker.Language, n int) string {
		var b strings.Builder
		switch lang {
		case runbooker.LangBash:
			for i := range n {
				fmt.Fprintf(&b, "# @param P%d int\n", i)
			}
		case runbooker.LangPowerShell:
			b.WriteString("param(\n")
			for i := range n {
				if i > 0 {
					b.WriteString(",\n")
				}
				fmt.Fprintf(&b, "  [int] $P%d", i)
			}
			b.WriteString("\n)\n")
		case runbooker.LangPython:
			b.WriteString("def main(")
			for i := range n {
				fmt.Fprintf(&b, "P%d: int = 0, ", i)
			}
			b.WriteString("):\n    pass\n")
		}
		return b.String()
	}
	for _, lang := range []runbooker.Language{runbooker.LangBash, runbooker.LangPowerShell, runbooker.LangPython} {
		meta, _, err := Analyze(AnalyzeInput{Name: "org_general_x", Language: lang, Content: []byte(params(lang, MaxParameters))})
		if err != nil || meta.ParseError != nil || len(meta.Parameters) != MaxParameters {
			t.Errorf("%s, %d parameters: %d parameters, %v %v", lang, MaxParameters, len(meta.Parameters), err, meta.ParseError)
		}
		_, _, err = Analyze(AnalyzeInput{Name: "org_general_x", Language: lang, Content: []byte(params(lang, MaxParameters+1))})
		if runbooker.ErrorCode(err) != runbooker.EINVALID || !strings.Contains(runbooker.ErrorMessage(err), "257 parameters, more than the limit of 256") {
			t.Errorf("%s, %d parameters: %v", lang, MaxParameters+1, err)
		}
	}
	big := []byte("#!/bin/bash\n" + strings.Repeat("# filler\n", MaxScriptSize/9))
	if _, _, err := Analyze(AnalyzeInput{Name: "org_general_x", Language: runbooker.LangBash, Content: big[:MaxScriptSize]}); err != nil {
		t.Errorf("a script of %d bytes: %v", MaxScriptSize, err)
	}
	_, _, err := Analyze(AnalyzeInput{Name: "org_general_x", Language: runbooker.LangBash, Content: big[:MaxScriptSize+1]})
	if runbooker.ErrorCode(err) != runbooker.EINVALID || !strings.Contains(runbooker.ErrorMessage(err), "larger than the limit of 2097152 bytes") {
		t.Errorf("a script of %d bytes: %v", MaxScriptSize+1, err)
	}
}
