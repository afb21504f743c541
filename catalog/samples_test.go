package catalog

import "os"

// The Python and Bash samples live with the readers that parse them; here
// they run through Analyze and BuildForm end to end.
var (
	pySample   = readSample("../pyparse/testdata/rotate_keys.py")
	bashSample = readSample("../bashparse/testdata/rotate_password.sh")
)

func readSample(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return string(b)
}
