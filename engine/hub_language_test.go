package engine

import (
	"testing"

	"github.com/runbooker/runbooker"
)

// A claimer that runs only some languages is handed only such jobs
// directly, and a queued job wakes every claimer of its group, as the
// newest may be one that cannot run it.
func TestHubLanguageLimitedWaiters(t *testing.T) {
	h := NewHub()
	anyW, cancelAny := h.Register("g", "", "w-anyW")
	h.Arm(anyW)
	bash, cancelBash := h.RegisterFor("g", "", "w-bash", []runbooker.Language{runbooker.LangBash})
	h.Arm(bash)
	if w := h.TakeWaiterFor("g", "t", runbooker.LangPowerShell); w != anyW {
		t.Fatalf("a PowerShell job went to %v, want the claimer of anyW language", w)
	}
	anyW, cancelAny = h.Register("g", "", "w-anyW")
	h.Arm(anyW)
	if w := h.TakeWaiterFor("g", "t", runbooker.LangBash); w != anyW && w != bash {
		t.Fatalf("a bash job went to %v", w)
	}
	cancelAny()
	cancelBash()

	bash, _ = h.RegisterFor("g", "", "w-bash", []runbooker.Language{runbooker.LangBash})
	h.Arm(bash)
	if w := h.TakeWaiterFor("g", "t", runbooker.LangPowerShell); w != nil {
		t.Fatal("a PowerShell job was handed to a claimer without pwsh")
	}
	anyW, _ = h.Register("g", "", "w-anyW")
	h.JobQueued("g", "t", 1)
	for _, w := range []*Waiter{bash, anyW} {
		select {
		case <-w.C:
		default:
			t.Errorf("waiter %s was not woken", w.workerID)
		}
	}
}
