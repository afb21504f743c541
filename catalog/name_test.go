package catalog

import (
	"strings"
	"testing"

	runbooker "github.com/runbooker/runbooker"
)

func TestParseName(t *testing.T) {
	tests := []struct {
		in   string
		want Name
	}{
		{"rjgit-user_security_revoke-or-restore-access", Name{Full: "rjgit-user_security_revoke-or-restore-access", Prefix: "rjgit-", Scope: "user", Category: "security", Short: "revoke-or-restore-access", DisplayName: "Revoke Or Restore Access"}},
		{"group_general_private-runbook", Name{Full: "group_general_private-runbook", Scope: "group", Category: "general", Short: "private-runbook", DisplayName: "Private Runbook"}},
		{"rjgit-org_devices_report-stale-devices_scheduled", Name{Full: "rjgit-org_devices_report-stale-devices_scheduled", Prefix: "rjgit-", Scope: "org", Category: "devices", Short: "report-stale-devices", DisplayName: "Report Stale Devices", Scheduled: true}},
		{"device_general_sync-bios_hybrid", Name{Full: "device_general_sync-bios_hybrid", Scope: "device", Category: "general", Short: "sync-bios", DisplayName: "Sync Bios", Hybrid: true}},
		{"acme-eu-org_mail_purge_hybrid_scheduled", Name{Full: "acme-eu-org_mail_purge_hybrid_scheduled", Prefix: "acme-eu-", Scope: "org", Category: "mail", Short: "purge", DisplayName: "Purge", Scheduled: true, Hybrid: true}},
		{"org_general_report-users-with-more-than-5-devices", Name{Full: "org_general_report-users-with-more-than-5-devices", Scope: "org", Category: "general", Short: "report-users-with-more-than-5-devices", DisplayName: "Report Users With More Than 5 Devices"}},
	}
	for _, tt := range tests {
		got, err := ParseName(tt.in)
		if err != nil {
			t.Errorf("ParseName(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseName(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if got.String() != tt.in {
			t.Errorf("String() = %q, want %q", got.String(), tt.in)
		}
	}
}

// TestParseNameLength: 128 characters is the longest name; the error for a
// longer one says so without quoting all of it.
func TestParseNameLength(t *testing.T) {
	longest := "user_general_" + strings.Repeat("a", MaxNameLength-len("user_general_"))
	if _, err := ParseName(longest); err != nil {
		t.Errorf("a name of %d characters: %v", len(longest), err)
	}
	_, err := ParseName(longest + "a")
	if msg := runbooker.ErrorMessage(err); runbooker.ErrorCode(err) != runbooker.EINVALID || len(msg) > 200 || !strings.Contains(msg, "limit of 128") {
		t.Errorf("a name of 129 characters: %v", err)
	}
}

func TestParseNameErrors(t *testing.T) {
	tests := []struct{ in, msg string }{
		{"", "empty"},
		{"rjgit-User_general_x", "lowercase"},
		{"user_general", "found 2 part(s)"},
		{"tenant_general_x", `scope "tenant" is not one of`},
		{"rjgituser_general_x", `prefix "rjgit"`},
		{"-user_general_x", `prefix "-"`},
		{"user__x", `category ""`},
		{"user_gen--eral_x", "category"},
		{"user_general_do-it-", `name part "do-it-"`},
		{"user_general_x_weekly", `unexpected suffix "_weekly"`},
		{"user_general_x_scheduled_scheduled", `unexpected suffix "_scheduled"`},
		{"user_general_reset pw", `character ' ' not allowed`},
		{"user_general_x.ps1", `character '.' not allowed`},
		{"user_general_" + strings.Repeat("a", 116), "129 characters is longer than the limit of 128"},
		{"user_general_" + strings.Repeat("a", 100_000), "100013 characters is longer than the limit of 128"},
	}
	for _, tt := range tests {
		_, err := ParseName(tt.in)
		if err == nil || !strings.Contains(runbooker.ErrorMessage(err), tt.msg) {
			t.Errorf("ParseName(%q) error = %v, want one containing %q", tt.in, err, tt.msg)
			continue
		}
		if runbooker.ErrorCode(err) != runbooker.EINVALID {
			t.Errorf("ParseName(%q) code = %s, want invalid", tt.in, runbooker.ErrorCode(err))
		}
	}
}

func TestPathToName(t *testing.T) {
	tests := []struct {
		prefix, path, want string
		lang               runbooker.Language
	}{
		{"rjgit-", "user/general/add-additional-alias.ps1", "rjgit-user_general_add-additional-alias", runbooker.LangPowerShell},
		{"rjgit-", "user/security/list-MFA-methods.ps1", "rjgit-user_security_list-mfa-methods", runbooker.LangPowerShell},
		{"rjgit-", `device\AVD\restart-host.py`, "rjgit-device_avd_restart-host", runbooker.LangPython},
		{"", "org/devices/cleanup_scheduled.sh", "org_devices_cleanup_scheduled", runbooker.LangBash},
		{"rjgit-", "/group/teams/archive-team.PS1", "rjgit-group_teams_archive-team", runbooker.LangPowerShell},
	}
	for _, tt := range tests {
		got, lang, err := PathToName(tt.prefix, tt.path)
		if err != nil {
			t.Errorf("PathToName(%q, %q): %v", tt.prefix, tt.path, err)
			continue
		}
		if got.Full != tt.want || lang != tt.lang {
			t.Errorf("PathToName(%q, %q) = %q, %s; want %q, %s", tt.prefix, tt.path, got.Full, lang, tt.want, tt.lang)
		}
	}
	for _, bad := range []struct{ prefix, path, msg string }{
		{"rjgit-", "user/general/x.md", "extension"},
		{"rjgit-", "user/general/x.permissions.json", "extension"},
		{"rjgit-", "user/x.ps1", "want <scope>/<category>/<name>.<ext>"},
		{"rjgit-", "internal/device/assign-group.ps1", "scope"},
		{"rjgit", "user/general/x.ps1", "sync prefix"},
		{"rjgit-", "user/general/my script.ps1", "not allowed"},
		{"rjgit-", "user/general/noext", "extension"},
	} {
		if _, _, err := PathToName(bad.prefix, bad.path); err == nil || !strings.Contains(runbooker.ErrorMessage(err), bad.msg) {
			t.Errorf("PathToName(%q, %q) error = %v, want one containing %q", bad.prefix, bad.path, err, bad.msg)
		}
	}
}

func TestContextParameter(t *testing.T) {
	params := func(names ...string) []runbooker.Parameter {
		var ps []runbooker.Parameter
		for _, n := range names {
			ps = append(ps, runbooker.Parameter{Name: n, Type: runbooker.TypeString})
		}
		return ps
	}
	tests := []struct {
		scope  string
		params []runbooker.Parameter
		want   string
	}{
		{"user", params("Revoke", "username"), "username"},
		{"user", params("UserId", "CallerName"), "UserId"},
		{"user", params("UserId", "UserName"), "UserName"},
		{"device", params("DEVICEID"), "DEVICEID"},
		{"device", params("DeviceName"), "DeviceName"},
		{"group", params("GroupName", "GroupID"), "GroupID"},
		{"org", params("UserName"), ""},
		{"user", params("Mailbox"), ""},
	}
	for _, tt := range tests {
		if got := ContextParameter(tt.scope, tt.params); got != tt.want {
			t.Errorf("ContextParameter(%s, %v) = %q, want %q", tt.scope, tt.params, got, tt.want)
		}
	}
}
