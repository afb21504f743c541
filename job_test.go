package runbooker

import (
	"regexp"
	"testing"
	"time"
)

func TestNewUUIDIsVersion7AndTimeOrdered(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	prev := NewUUID()
	seen := map[string]bool{prev: true}
	for i := 0; i < 1000; i++ {
		if i == 500 {
			time.Sleep(2 * time.Millisecond) // cross a millisecond for sure
		}
		id := NewUUID()
		if !re.MatchString(id) {
			t.Fatalf("%q is not a version 7 UUID", id)
		}
		if seen[id] {
			t.Fatalf("duplicate %s", id)
		}
		seen[id] = true
		if id[:13] < prev[:13] { // the millisecond prefix never goes back
			t.Fatalf("%s sorts before %s", id, prev)
		}
		prev = id
	}
}
