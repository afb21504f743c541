package access

import (
	"slices"
	"testing"
)

func TestTargetParameter(t *testing.T) {
	tests := []struct {
		name             string
		scope, declared  string
		params           map[string]any
		kind, param, val string
		ok               bool
	}{
		{"org runbooks have no target", "org", "", map[string]any{"UserName": "x"}, "", "", "", true},
		{"user by name", "user", "UserName", map[string]any{"UserName": "ceo@contoso.com"}, "user", "UserName", "ceo@contoso.com", true},
		{"user by id", "user", "", map[string]any{"userid": "u-1"}, "user", "userid", "u-1", true},
		{"names compare case-insensitively", "user", "UserName", map[string]any{"USERNAME": " ceo@contoso.com "}, "user", "USERNAME", "ceo@contoso.com", true},
		{"the scope's order", "user", "", map[string]any{"UserId": "u-1", "UserName": "ceo@contoso.com"}, "user", "UserName", "ceo@contoso.com", true},
		{"the declared parameter first", "user", "UserId", map[string]any{"UserId": "u-1", "UserName": "ceo@contoso.com"}, "user", "UserId", "u-1", true},
		{"a declared parameter outside the list", "user", "TargetUser", map[string]any{"TargetUser": "ceo@contoso.com", "UserName": "jane@contoso.com"}, "user", "TargetUser", "ceo@contoso.com", true},
		{"device", "device", "DeviceId", map[string]any{"DeviceId": "d-1"}, "device", "DeviceId", "d-1", true},
		{"device by name", "device", "", map[string]any{"DeviceName": "CEO-LAPTOP"}, "device", "DeviceName", "CEO-LAPTOP", true},
		{"group", "group", "", map[string]any{"GroupName": "VIP users", "GroupId": "g-vip"}, "group", "GroupId", "g-vip", true},
		{"missing", "user", "UserName", map[string]any{"Reason": "x"}, "user", "UserName", "", false},
		{"missing, nothing declared", "device", "", nil, "device", "DeviceId", "", false},
		{"empty", "user", "UserName", map[string]any{"UserName": "  "}, "user", "UserName", "", false},
		{"not a string", "user", "UserName", map[string]any{"UserName": 42.0}, "user", "UserName", "", false},
		{"a list", "group", "GroupId", map[string]any{"GroupId": []string{"a", "b"}}, "group", "GroupId", "", false},
		{"null", "user", "UserId", map[string]any{"UserId": nil}, "user", "UserId", "", false},
		{"a bad declared value does not fall back", "user", "UserName", map[string]any{"UserName": "", "UserId": "u-1"}, "user", "UserName", "", false},
	}
	for _, tt := range tests {
		kind, param, val, ok := TargetParameter(tt.scope, tt.declared, tt.params)
		if kind != tt.kind || param != tt.param || val != tt.val || ok != tt.ok {
			t.Errorf("%s: (%q, %q, %q, %v), want (%q, %q, %q, %v)", tt.name, kind, param, val, ok, tt.kind, tt.param, tt.val, tt.ok)
		}
	}
}

func TestTargetParameters(t *testing.T) {
	got := TargetParameters("user", "UserName", map[string]any{"username": "jane@contoso.com", "UserId": "ceo-id", "Reason": "x"})
	want := []TargetRef{{"user", "username", "jane@contoso.com"}, {"user", "UserId", "ceo-id"}}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := TargetParameters("org", "", map[string]any{"UserId": "x"}); got != nil {
		t.Errorf("org: %+v", got)
	}
	if got := TargetParameters("device", "", map[string]any{"DeviceId": "", "DeviceName": 3.0}); got != nil {
		t.Errorf("no usable values: %+v", got)
	}
}
