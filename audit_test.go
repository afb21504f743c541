package runbooker

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func sampleEntry() *AuditEntry {
	return &AuditEntry{TenantID: "default", Seq: 1, Time: time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.UTC),
		Actor: "ceo@contoso.com", ActorKind: ActorPerson, Surface: "portal", Action: "job.start",
		Object: "rjgit-user_general_say-hello", Detail: json.RawMessage(`{"jobId":"j1"}`), Source: "192.0.2.1"}
}

// chain links n entries of one tenant as a store would.
func chain(n int) []*AuditEntry {
	var out []*AuditEntry
	prev := ""
	for i := range n {
		e := sampleEntry()
		e.Seq, e.PrevHash = int64(i+1), prev
		e.Hash = e.ComputeHash()
		prev = e.Hash
		out = append(out, e)
	}
	return out
}

// The hash covers every field but Hash, ignores what storage does not
// keep (sub-microsecond digits, the time zone, JSON white space) and
// cannot be fooled by moving bytes from one field to the next.
func TestAuditHash(t *testing.T) {
	base := sampleEntry()
	h := base.ComputeHash()
	if len(h) != 64 || strings.ToLower(h) != h {
		t.Fatalf("ComputeHash = %q, want 64 lower-case hex digits", h)
	}
	same := []func(e *AuditEntry){
		func(e *AuditEntry) { e.Time = e.Time.Truncate(time.Microsecond) },
		func(e *AuditEntry) { e.Time = e.Time.In(time.FixedZone("X", 3600)) },
		func(e *AuditEntry) { e.Detail = json.RawMessage("{ \"jobId\" :\n \"j1\" }") },
		func(e *AuditEntry) { e.Hash = "anything" },
	}
	for i, change := range same {
		e := sampleEntry()
		change(e)
		if e.ComputeHash() != h {
			t.Errorf("change %d altered the hash, want it ignored", i)
		}
	}
	differ := map[string]func(e *AuditEntry){
		"TenantID":  func(e *AuditEntry) { e.TenantID = "other" },
		"Seq":       func(e *AuditEntry) { e.Seq = 2 },
		"Time":      func(e *AuditEntry) { e.Time = e.Time.Add(time.Microsecond) },
		"Actor":     func(e *AuditEntry) { e.Actor = "cfo@contoso.com" },
		"ActorKind": func(e *AuditEntry) { e.ActorKind = ActorCredential },
		"Surface":   func(e *AuditEntry) { e.Surface = "api" },
		"Action":    func(e *AuditEntry) { e.Action = "job.stop" },
		"Object":    func(e *AuditEntry) { e.Object = "x" },
		"Detail":    func(e *AuditEntry) { e.Detail = json.RawMessage(`{"jobId":"j2"}`) },
		"no Detail": func(e *AuditEntry) { e.Detail = nil },
		"Source":    func(e *AuditEntry) { e.Source = "192.0.2.2" },
		"PrevHash":  func(e *AuditEntry) { e.PrevHash = "00" },
		"shifted bytes": func(e *AuditEntry) {
			e.Actor, e.ActorKind = "ceo@contoso.comperson", ""
		},
	}
	for name, change := range differ {
		e := sampleEntry()
		change(e)
		if e.ComputeHash() == h {
			t.Errorf("changing %s left the hash as it was", name)
		}
	}
}

func TestVerifyAuditChain(t *testing.T) {
	c := chain(10)
	if err := VerifyAuditChain(nil, c); err != nil {
		t.Fatalf("intact chain: %v", err)
	}
	if err := VerifyAuditChain(c[3], c[4:]); err != nil {
		t.Fatalf("intact chain from a page boundary: %v", err)
	}
	if err := VerifyAuditChain(nil, nil); err != nil {
		t.Fatalf("empty chain: %v", err)
	}
	broken := func(what string, prev *AuditEntry, es []*AuditEntry, seq int64, words string) {
		t.Helper()
		err := VerifyAuditChain(prev, es)
		var ce *AuditChainError
		if !errors.As(err, &ce) || ce.Seq != seq || !strings.Contains(err.Error(), words) {
			t.Errorf("%s: VerifyAuditChain = %v, want broken at seq %d mentioning %q", what, err, seq, words)
		}
	}
	copyOf := func() []*AuditEntry {
		out := make([]*AuditEntry, len(c))
		for i, e := range c {
			x := *e
			out[i] = &x
		}
		return out
	}
	x := copyOf()
	x[5].Actor = "mallory"
	broken("changed actor", nil, x, 6, "hash does not match")
	x = copyOf()
	x[5].Actor = "mallory"
	x[5].Hash = x[5].ComputeHash()
	broken("changed actor, hash recomputed", nil, x, 7, "prevHash")
	x = copyOf()
	broken("removed entry", nil, append(x[:3:3], x[4:]...), 5, "follows seq 3")
	broken("log not starting at 1", nil, c[2:], 3, "starts at seq 3")
	broken("wrong page boundary", c[1], c[3:], 4, "follows seq 2")
	other := copyOf()
	for _, e := range other {
		e.TenantID = "other"
	}
	broken("another tenant's page", c[3], other[4:], 5, "tenant")
}
