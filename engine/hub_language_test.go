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

// A claim limited to some languages that found none of its jobs lets the
// next such claim park without asking the store; the hint is its own (a
// claim of any language, or of other languages, still asks) and any job
// queued in the group clears it.
func TestHubLanguageLimitedQueueHint(t *testing.T) {
	h := NewHub()
	bash := []runbooker.Language{runbooker.LangBash}
	bashPy := []runbooker.Language{runbooker.LangPython, runbooker.LangBash}
	gen, empty := h.QueueHint("g", "", bashPy)
	if empty {
		t.Fatal("an unknown group's queue is hinted empty")
	}
	h.QueueEmpty("g", "", bashPy, gen)
	if _, empty := h.QueueHint("g", "", []runbooker.Language{runbooker.LangBash, runbooker.LangPython}); !empty {
		t.Fatal("the same languages in another order do not share the hint")
	}
	if _, empty := h.QueueHint("g", "", bash); empty {
		t.Fatal("a bash-only claim took the hint of bash and Python claims")
	}
	if _, empty := h.QueueHint("g", "", nil); empty {
		t.Fatal("a claim of any language took a language-limited hint")
	}
	// A job queued while a claim ran: that claim's "found none" is stale.
	gen, _ = h.QueueHint("g", "", bash)
	h.JobQueued("g", "t", 1)
	h.QueueEmpty("g", "", bash, gen)
	if _, empty := h.QueueHint("g", "", bash); empty {
		t.Fatal("a claim that raced a queued job left the hint empty")
	}
	if _, empty := h.QueueHint("g", "", bashPy); empty {
		t.Fatal("a queued job did not clear the bash and Python hint")
	}
}
