package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/runbooker/runbooker"
)

// knownLanguages keeps the languages Runbooker knows, once each, in a
// fixed order; nil stays nil (the worker did not say).
func knownLanguages(ls []runbooker.Language) []runbooker.Language {
	if ls == nil {
		return nil
	}
	out := []runbooker.Language{}
	for _, l := range []runbooker.Language{runbooker.LangBash, runbooker.LangPowerShell, runbooker.LangPython} {
		if slices.Contains(ls, l) {
			out = append(out, l)
		}
	}
	return out
}

// SetCloudLanguages says which languages the built-in group's agent can
// run (Config.CloudLanguages); nil: any.
func (e *Engine) SetCloudLanguages(langs []runbooker.Language) {
	langs = knownLanguages(langs)
	e.cloudLangs.Store(&langs)
}

func (e *Engine) cloudLanguages() []runbooker.Language {
	if p := e.cloudLangs.Load(); p != nil {
		return *p
	}
	return e.cfg.CloudLanguages
}

// claimLanguages is the languages a claim is limited to: nil when the
// worker runs every language, so the usual claim serves it.
func claimLanguages(langs []runbooker.Language) []runbooker.Language {
	langs = knownLanguages(langs)
	if len(langs) == 3 {
		return nil
	}
	return langs
}

// ReportWorker stores what a worker says of itself: that it claims again
// (active), drains or stopped, and which languages it can run (nil: as
// before). A draining or stopped worker is shown so at once.
func (e *Engine) ReportWorker(ctx context.Context, w *runbooker.Worker, state runbooker.WorkerState, langs []runbooker.Language) error {
	if !state.Valid() {
		return runbooker.Errorf(runbooker.EINVALID, "worker state must be \"\", %q or %q, not %q",
			runbooker.WorkerDraining, runbooker.WorkerStopped, state)
	}
	langs = knownLanguages(langs)
	if state == w.State && (langs == nil || slices.Equal(langs, w.Languages)) {
		return e.TouchWorker(ctx, w)
	}
	now := e.Now()
	if err := e.store.ReportWorker(ctx, w.ID, runbooker.WorkerReport{State: state, Languages: langs, Now: now}); err != nil {
		return err
	}
	wasOnline := w.Online(now)
	c := *w
	c.State = state
	if langs != nil {
		c.Languages = langs
	}
	switch {
	case state == runbooker.WorkerStopped && wasOnline:
		e.emitWorker(runbooker.LiveWorkerOffline, &c, now)
	case state != runbooker.WorkerStopped && !wasOnline:
		e.emitWorker(runbooker.LiveWorkerOnline, &c, now)
	}
	return nil
}

// GroupStatus says whether a group has a live worker, for a queued job's
// status reason: one online and not draining. The reason names what the
// workers said: draining, stopped, or not seen.
func (e *Engine) GroupStatus(ctx context.Context, tenantID, group string) (live bool, reason string) {
	if group == runbooker.CloudGroup {
		return true, ""
	}
	ws, err := e.store.ListWorkers(ctx, tenantID, group)
	if err != nil {
		return true, "" // unknown: say nothing rather than something wrong
	}
	if len(ws) == 0 {
		return false, "no worker has registered in group " + group
	}
	now := e.Now()
	var draining, stopped []string
	var last time.Time
	for _, w := range ws {
		switch {
		case w.State == runbooker.WorkerStopped:
			stopped = append(stopped, w.Name)
		case !w.Online(now):
		case w.State == runbooker.WorkerDraining:
			draining = append(draining, w.Name)
		default:
			return true, ""
		}
		if w.LastSeenAt.After(last) {
			last = w.LastSeenAt
		}
	}
	var parts []string
	if len(draining) > 0 {
		parts = append(parts, "draining: "+strings.Join(draining, ", "))
	}
	if len(stopped) > 0 {
		parts = append(parts, "stopped: "+strings.Join(stopped, ", "))
	}
	if last.IsZero() {
		parts = append(parts, "none was seen yet")
	} else {
		parts = append(parts, "last seen "+last.Format(time.RFC3339))
	}
	return false, fmt.Sprintf("no live worker in group %s (%s)", group, strings.Join(parts, "; "))
}

// LanguageStatus says whether an online, active worker of the group has an
// interpreter for lang, with a warning when none has. For the built-in
// group it is the server's own agent (Config.CloudLanguages).
func (e *Engine) LanguageStatus(ctx context.Context, tenantID, group string, lang runbooker.Language) (ok bool, warning string) {
	if group == "" || group == runbooker.CloudGroup {
		if cl := e.cloudLanguages(); cl == nil || slices.Contains(cl, lang) {
			return true, ""
		}
		return false, fmt.Sprintf("the built-in group %s has no %s interpreter on this server; no worker can run it", runbooker.CloudGroup, langName(lang))
	}
	ws, err := e.store.ListWorkers(ctx, tenantID, group)
	if err != nil {
		return true, ""
	}
	now := e.Now()
	online := 0
	for _, w := range ws {
		if !w.Online(now) || w.State == runbooker.WorkerDraining {
			continue
		}
		online++
		if w.CanRun(lang) {
			return true, ""
		}
	}
	if online == 0 {
		return false, fmt.Sprintf("no online worker in group %s to run it", group)
	}
	return false, fmt.Sprintf("no online worker in group %s has a %s interpreter", group, langName(lang))
}

func langName(l runbooker.Language) string {
	switch l {
	case runbooker.LangPowerShell:
		return "PowerShell (pwsh)"
	case runbooker.LangPython:
		return "Python"
	case runbooker.LangBash:
		return "Bash"
	}
	return string(l)
}

// LanguageCheck tells, for runbook after runbook, whether a worker that
// could run it is online; it asks the store once per group and language.
type LanguageCheck struct {
	e      *Engine
	tenant string
	memo   map[[2]string]string
}

// NewLanguageCheck starts a LanguageCheck for a tenant's runbooks.
func (e *Engine) NewLanguageCheck(tenantID string) *LanguageCheck {
	return &LanguageCheck{e: e, tenant: tenantID, memo: map[[2]string]string{}}
}

// Warning says why no online worker of the runbook's default group can run
// it, or "" when one can (or it cannot be told).
func (c *LanguageCheck) Warning(ctx context.Context, rb *runbooker.Runbook) string {
	group, err := c.e.route(ctx, rb, "")
	if err != nil {
		if runbooker.ErrorCode(err) == runbooker.EINVALID {
			return runbooker.ErrorMessage(err)
		}
		return ""
	}
	key := [2]string{group, string(rb.Language)}
	if w, ok := c.memo[key]; ok {
		return w
	}
	_, w := c.e.LanguageStatus(ctx, c.tenant, group, rb.Language)
	c.memo[key] = w
	return w
}
