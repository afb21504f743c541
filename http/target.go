package http

import (
	"context"
	"net/http"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/access"
	"github.com/runbooker/runbooker/catalog"
	"github.com/runbooker/runbooker/directory"
)

// resolveTarget finds the directory object a job is about (key is an id or,
// for users, a UPN; for groups and devices a display name) and the groups it
// is judged by (access.Permissions.ResolveTarget). param names the
// parameter the key came from, for the error a caller sees.
//
// A tenant without a directory cannot check targets: the target is taken as
// given, and permissions that restrict targets deny (decideTarget).
func (s *Server) resolveTarget(ctx context.Context, pol *policy, kind directory.Kind, key, param string) (*access.Target, error) {
	if pol.dir == nil {
		return &access.Target{Kind: string(kind), ID: key, Name: key}, nil
	}
	t, err := pol.perms.ResolveTarget(ctx, pol.dir, string(kind), key)
	if runbooker.ErrorCode(err) == runbooker.ENOTFOUND {
		if param == "" {
			return nil, runbooker.Errorf(runbooker.ENOTFOUND, "the directory knows no %s %q", kind, key)
		}
		return nil, runbooker.Errorf(runbooker.EINVALID, "parameter %s: the directory knows no %s %q", param, kind, key)
	}
	return t, err
}

// decideTarget judges c doing a with a runbook on t, denying when the
// tenant's permissions restrict targets but no directory can say which
// groups t is in.
func (c *who) decideTarget(a access.Action, runbook string, t *access.Target) access.Decision {
	if t != nil && c.policy.dir == nil && c.policy.perms != nil && c.policy.perms.RestrictsTargets() && c.Caller.Person {
		return access.Decision{Reason: "the tenant's permissions restrict targets (TargetEntityGroups) but the tenant has no directory to check them against"}
	}
	return c.decide(a, runbook, t)
}

// authorizeJob is the engine's Authorize hook for jobs c starts: it finds
// the job's targets from the runbook's scope and its parameters and asks
// for a decision on each. Every parameter that may name the target is
// judged (a runbook reading UserId must not be started with a harmless
// UserName and a protected UserId); the first, the declared context
// parameter when given, is recorded as the job's target.
func (s *Server) authorizeJob(c *who) func(context.Context, *runbooker.Runbook, map[string]any) (*runbooker.JobTarget, error) {
	return func(ctx context.Context, rb *runbooker.Runbook, params map[string]any) (*runbooker.JobTarget, error) {
		if !c.has(access.CanRunRunbooks) {
			return nil, runbooker.Errorf(runbooker.EFORBIDDEN, "%s lacks the right %s", c.Name, access.CanRunRunbooks)
		}
		refs := access.TargetParameters(rb.Scope, rb.Meta.ContextParameter, params)
		if len(refs) == 0 {
			if d := c.decideTarget(access.Run, rb.Name, nil); !d.Allow {
				return nil, forbid(d)
			}
			return nil, nil
		}
		var first *runbooker.JobTarget
		for _, ref := range refs {
			t, err := s.resolveTarget(ctx, c.policy, directory.Kind(ref.Kind), ref.Value, ref.Param)
			if err != nil {
				return nil, err
			}
			if d := c.decideTarget(access.Run, rb.Name, t); !d.Allow {
				return nil, forbid(d)
			}
			if first == nil {
				first = &runbooker.JobTarget{Kind: t.Kind, ID: t.ID, Name: t.Name}
			}
		}
		return first, nil
	}
}

// jobVisible decides whether c may read job j: administrators read every
// job; others the jobs of runbooks they may see, on targets they may act on.
func (s *Server) jobVisible(ctx context.Context, c *who, j *runbooker.Job) (access.Decision, error) {
	if c.has(access.Admin) {
		return access.Decision{Allow: true, Reason: "administrator"}, nil
	}
	var t *access.Target
	if j.Target != nil {
		var err error
		t, err = s.resolveTarget(ctx, c.policy, directory.Kind(j.Target.Kind), j.Target.ID, "")
		if runbooker.ErrorCode(err) == runbooker.ENOTFOUND {
			// Gone from the directory since: judged by the name alone.
			t, err = &access.Target{Kind: j.Target.Kind, ID: j.Target.ID, Name: j.Target.Name}, nil
		}
		if err != nil {
			return access.Decision{}, err
		}
	}
	return c.decideTarget(access.See, j.RunbookName, t), nil
}

// visibleRunbook loads the runbook the path names when c may see it.
func (s *Server) visibleRunbook(w http.ResponseWriter, r *http.Request) (*runbooker.Runbook, bool) {
	c := principal(r.Context())
	rb, err := s.Store.Runbook(r.Context(), c.TenantID, r.PathValue("name"))
	if err == nil {
		if d := c.decide(access.See, rb.Name, nil); !d.Allow {
			err = forbid(d)
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return nil, false
	}
	return rb, true
}

// TargetRunbooks answers GET /api/v1/targets/{kind}/{id}/runbooks.
type TargetRunbooks struct {
	Target   *access.Target `json:"target"`
	Runbooks []RunbookView  `json:"runbooks"`
}

// handleTargetRunbooks lists the runbooks of the target's scope that the
// caller may run on it, each with its form.
func (s *Server) handleTargetRunbooks(w http.ResponseWriter, r *http.Request) {
	c := principal(r.Context())
	kind := directory.Kind(r.PathValue("kind"))
	if !kind.Valid() {
		s.writeError(w, r, runbooker.Errorf(runbooker.ENOTFOUND, "targets are users, devices or groups, not %q", kind))
		return
	}
	t, err := s.resolveTarget(r.Context(), c.policy, kind, r.PathValue("id"), "")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rbs, err := s.Store.ListRunbooks(r.Context(), c.TenantID, runbooker.RunbookFilter{Scope: string(kind)})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	custom, err := s.setting(r.Context(), c.TenantID, SettingCustomization)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := TargetRunbooks{Target: t, Runbooks: []RunbookView{}}
	for _, rb := range rbs {
		if !c.decideTarget(access.Run, rb.Name, t).Allow {
			continue
		}
		v := runbookView(rb)
		v.Form, v.Warnings = catalog.BuildForm(rb.Meta, rb.Name, custom)
		out.Runbooks = append(out.Runbooks, v)
	}
	writeJSON(w, http.StatusOK, out)
}
