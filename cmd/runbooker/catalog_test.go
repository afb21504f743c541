package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
)

const psOutOfOffice = `<#
  .SYNOPSIS
  Set or clear a user's out-of-office reply.

  .DESCRIPTION
  Turns the automatic reply of a mailbox on or off.

  .INPUTS
  RunbookCustomization: {
      "Parameters": {
          "UserName": { "Hide": true },
          "Disable": {
              "DisplayName": "Enable or Disable Out-of-Office",
              "Select": {
                  "Options": [
                      { "Display": "Enable Out-of-Office", "ParameterValue": false },
                      { "Display": "Disable Out-of-Office", "ParameterValue": true,
                        "Customization": { "Hide": ["Start", "Message"] } },
                  ],
              },
          },
          "CallerName": { "Hide": true },
      },
  }
#>
#Requires -Modules @{ModuleName = "RealmJoin.RunbookHelper"; ModuleVersion = "0.8.3" }
param(
    [Parameter(Mandatory = $true)]
    [ValidateScript( { Use-RJInterface -Type Graph -Entity User -DisplayName "User" } )]
    [string] $UserName,
    [bool] $Disable = $false,
    [ValidateScript( { Use-RJInterface -Type DateTime -Date } )]
    [System.DateTime] $Start,
    # The reply text.
    [ValidateScript( { Use-RJInterface -Type Textarea } )]
    [string] $Message,
    [ValidateScript( { Use-RJInterface -Type Setting -Attribute "OutOfOffice.Language" } )]
    [string] $Language,
    [ValidateSet("Internal", "External", "All")]
    [string] $Audience = "All",
    [string] $Office,
    [Parameter(Mandatory = $true)]
    [string] $CallerName
)
Write-Output "done"
`

const tenantCustomization = `{
  // comments and trailing commas are fine here, as in RealmJoin
  "Settings": { "OutOfOffice": { "Language": "de-DE", }, },
  "Templates": {
    "Options": [
      { "$id": "Offices", "$values": [
          { "Display": "Berlin", "Value": "BER" },
          { "Display": "Hamburg", "Value": "HAM" },
      ] },
    ],
  },
  "Runbooks": {
    "rjgit-user_mail_set-out-of-office": {
      "Parameters": {
        "Office": { "DisplayName": "Office", "Select": { "Options": { "$ref": "Offices" }, "ShowValue": true } },
        "Audience": { "SelectSimple": { "Colleagues only": "Internal", "Everyone": "All" } },
      },
    },
  },
}`

type formField struct {
	Key, Name, Label, Control, Type string
	Mandatory, Hidden, Context      bool
	Default                         any
	Entity, Returns, Setting        string
	Options                         []struct {
		Display       string
		Value         any
		Customization map[string]any
	}
	ShowValue bool
}

func TestRunbookFormWithCustomizationThroughTheAPI(t *testing.T) {
	s := startServer(t)
	name := "rjgit-user_mail_set-out-of-office"
	rb := s.put(name, runbooker.LangPowerShell, psOutOfOffice)
	if rb.ParseError != nil || rb.ContextParameter != "UserName" || rb.Synopsis != "Set or clear a user's out-of-office reply." {
		t.Fatalf("metadata: %+v", rb)
	}
	if len(rb.RequiredModules) != 1 || rb.RequiredModules[0].Name != "RealmJoin.RunbookHelper" || rb.RequiredModules[0].Version != "0.8.3" {
		t.Errorf("required modules: %+v", rb.RequiredModules)
	}
	if err := s.client.PutSetting(context.Background(), "customization", []byte(tenantCustomization)); err != nil {
		t.Fatal(err)
	}
	st, _, body := s.call("GET", "/api/v1/runbooks/"+name, s.cred, "")
	if st != 200 {
		t.Fatalf("get: %d %s", st, body)
	}
	var view struct {
		Parameters []runbooker.Parameter
		Warnings   []runbooker.ParseError
		Form       struct{ Fields []formField }
	}
	if err := json.Unmarshal([]byte(body), &view); err != nil {
		t.Fatal(err)
	}
	if len(view.Warnings) != 0 {
		t.Errorf("warnings: %+v", view.Warnings)
	}
	fields := map[string]formField{}
	var order []string
	for _, f := range view.Form.Fields {
		fields[f.Key] = f
		order = append(order, f.Key)
	}
	if strings.Join(order, ",") != "UserName,Disable,Start,Message,Language,Audience,Office,CallerName" {
		t.Errorf("field order %v", order)
	}
	if f := fields["UserName"]; !f.Hidden || !f.Context || f.Entity != "user" {
		t.Errorf("context field: %+v", f)
	}
	if f := fields["Disable"]; f.Control != "select" || f.Label != "Enable or Disable Out-of-Office" || len(f.Options) != 2 ||
		f.Options[1].Value != true || f.Options[1].Customization == nil {
		t.Errorf("Select field: %+v", f)
	}
	if f := fields["Start"]; f.Control != "datetime" {
		t.Errorf("date field: %+v", f)
	}
	if f := fields["Message"]; f.Control != "textarea" {
		t.Errorf("textarea field: %+v", f)
	}
	if f := fields["Language"]; f.Default != "de-DE" || f.Setting != "OutOfOffice.Language" {
		t.Errorf("setting prefill: %+v", f)
	}
	if f := fields["Audience"]; f.Control != "select" || len(f.Options) != 2 || f.Options[0].Display != "Colleagues only" || f.Options[0].Value != "Internal" {
		t.Errorf("SelectSimple field: %+v", f)
	}
	if f := fields["Office"]; f.Control != "select" || !f.ShowValue || len(f.Options) != 2 || f.Options[1].Value != "HAM" {
		t.Errorf("template $ref field: %+v", f)
	}
	if f := fields["CallerName"]; !f.Hidden {
		t.Errorf("CallerName: %+v", f)
	}
	// The ValidateSet still guards the API, whatever the form shows.
	st, _, body = s.call("POST", "/runbook/"+name+"/start", s.cred, `{"UserName":"a@b.c","Audience":"Nobody"}`)
	if st != 400 || !strings.Contains(body, "Audience") {
		t.Errorf("ValidateSet via API: %d %s", st, body)
	}
	// A broken tenant customization never breaks the runbook: a warning with its position.
	if err := s.client.PutSetting(context.Background(), "customization", []byte(`{"Runbooks": {`)); runbooker.ErrorCode(err) != runbooker.EINVALID {
		t.Errorf("broken customization accepted by PUT: %v", err)
	}
	_ = s.m.Store.PutSetting(context.Background(), runbooker.DefaultTenant, "customization", []byte("{\n  \"Runbooks\": [1,\n"))
	st, _, body = s.call("GET", "/api/v1/runbooks/"+name, s.cred, "")
	view.Warnings = nil
	_ = json.Unmarshal([]byte(body), &view)
	if st != 200 || len(view.Warnings) == 0 || view.Warnings[0].Line == 0 || len(view.Form.Fields) != 8 {
		t.Errorf("broken stored customization: %d warnings %+v fields %d", st, view.Warnings, len(view.Form.Fields))
	}
}
