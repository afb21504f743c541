package psparse

import (
	"reflect"
	"testing"

	"github.com/runbooker/runbooker"
)

type M = runbooker.Module

func TestRequiredModules(t *testing.T) {
	tests := []struct {
		name, src string
		want      []M
	}{
		{"names", "#Requires -Modules A, B.C", []M{{Name: "A"}, {Name: "B.C"}}},
		{"quoted name", `#Requires -Modules "RealmJoin.RunbookHelper"`, []M{{Name: "RealmJoin.RunbookHelper"}}},
		{"hashtable with ModuleVersion", `#Requires -Modules @{ModuleName = "RealmJoin.RunbookHelper"; ModuleVersion = "0.8.3" }`,
			[]M{{Name: "RealmJoin.RunbookHelper", Version: "0.8.3", Minimum: true}}},
		{"single quotes and RequiredVersion", `#Requires -Modules @{ModuleName='X';RequiredVersion='2.0'}`, []M{{Name: "X", Version: "2.0"}}},
		{"RequiredVersion wins", `#Requires -Modules @{ModuleName='X'; ModuleVersion='1.0'; RequiredVersion='2.0'; GUID='d0a9150d-b6a4-4b17-a325-e3a24fed0aa9'}`,
			[]M{{Name: "X", Version: "2.0"}}},
		{"unquoted version", `#Requires -Modules @{ModuleName="X"; ModuleVersion=1.2.3}`, []M{{Name: "X", Version: "1.2.3", Minimum: true}}},
		{"mixed list", `#Requires -Modules @{ModuleName = "RealmJoin.RunbookHelper"; ModuleVersion = "0.8.3" }, ExchangeOnlineManagement, 'Az.Accounts'`,
			[]M{{Name: "RealmJoin.RunbookHelper", Version: "0.8.3", Minimum: true}, {Name: "ExchangeOnlineManagement"}, {Name: "Az.Accounts"}}},
		{"several lines any case", "#requires -modules A\n#REQUIRES -Module @{ ModuleName = 'B'; ModuleVersion = '1.0' }\n#Requires -Modules A, C",
			[]M{{Name: "A"}, {Name: "B", Version: "1.0", Minimum: true}, {Name: "C"}}},
		{"version filled in later", "#Requires -Modules A\n#Requires -Modules @{ModuleName='a'; ModuleVersion='3.0'}", []M{{Name: "A", Version: "3.0", Minimum: true}}},
		{"other switches around", "#Requires -Version 5.1 -Modules A,B -RunAsAdministrator", []M{{Name: "A"}, {Name: "B"}}},
		{"not a requires", "# Requires -Modules A\n#RequiresX -Modules B\n#Requires -Version 7", nil},
		{"inside a here-string is text", "$x = @'\n#Requires -Modules Hidden\n'@", nil},
		{"anywhere in the script", "param()\nfunction f {\n  #Requires -Modules Late\n}", []M{{Name: "Late"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md, err := Extract([]byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(md.RequiredModules, tt.want) {
				t.Errorf("got %s, want %s", js(md.RequiredModules), js(tt.want))
			}
		})
	}
}
