package pyparse

import (
	"reflect"
	"strings"
	"testing"

	runbooker "github.com/runbooker/runbooker"
)

func TestRequirements(t *testing.T) {
	type M = runbooker.Module
	tests := []struct {
		name, src string
		want      []M
		problems  int
	}{
		{"none", "import os\n", nil, 0},
		{"one line", "# requirements: requests==2.31.0, six\nimport requests\n", []M{{Name: "requests", Version: "2.31.0"}, {Name: "six"}}, 0},
		{"any case, indented, several lines", "  #Requirements:greet\n# REQUIREMENTS : greet==1.0, other\n", []M{{Name: "greet", Version: "1.0"}, {Name: "other"}}, 0},
		{"extras", "# requirements: requests[socks]==2.0\n", []M{{Name: "requests", Version: "2.0"}}, 0},
		{"other operator", "# requirements: six>=1.0\n", []M{{Name: "six"}}, 1},
		{"garbage", "# requirements: $$$, ok\n", []M{{Name: "ok"}}, 1},
		{"not a requirements line", "x = 1  # requirements: nope\n", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, problems := Requirements([]byte(tt.src))
			if !reflect.DeepEqual(got, tt.want) || len(problems) != tt.problems {
				t.Errorf("got %+v %q, want %+v and %d problems", got, problems, tt.want, tt.problems)
			}
		})
	}
}

func FuzzRequirements(f *testing.F) {
	f.Add("# requirements: requests==2.31.0, six\n")
	f.Add("#requirements:a[b,c]==1,,\n")
	f.Fuzz(func(t *testing.T, src string) {
		mods, _ := Requirements([]byte(src))
		for _, m := range mods {
			if m.Name == "" || strings.ContainsAny(m.Name, ", \n") {
				t.Errorf("bad module %+v", m)
			}
		}
	})
}
