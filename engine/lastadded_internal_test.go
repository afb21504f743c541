package engine

import "testing"

// lastAdded keeps the last keys put, up to its capacity, and forgets the
// oldest first; putting a key again keeps its place and takes the value.
func TestLastAddedForgetsTheOldestPastItsCapacity(t *testing.T) {
	var l lastAdded[string, int]
	for i, k := range []string{"a", "b", "c"} {
		l.put(3, k, i)
	}
	l.put(3, "a", 10) // already kept: its value changes, nothing is forgotten
	l.put(3, "", 99)  // the zero key is never kept
	if v, ok := l.get("a"); !ok || v != 10 {
		t.Fatalf("a = %d, %v; want 10", v, ok)
	}
	l.put(3, "d", 3) // past the capacity: "a", the oldest put, goes
	for k, want := range map[string]bool{"a": false, "b": true, "c": true, "d": true, "": false} {
		if _, ok := l.get(k); ok != want {
			t.Errorf("%q kept: %v, want %v", k, ok, want)
		}
	}
	if len(l.m) != 3 {
		t.Errorf("%d keys kept, want 3", len(l.m))
	}
}
