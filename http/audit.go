package http

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/access"
)

// auditActor is who an audit entry names.
type auditActor struct {
	tenant, name, kind, surface string
}

func actorOf(c *who) auditActor {
	return auditActor{tenant: c.TenantID, name: c.Name, kind: c.kind(), surface: c.Surface}
}

// record appends an entry to the tenant's audit log. The change it records
// has happened already, so a failing append is logged, not answered.
func (s *Server) record(ctx context.Context, r *http.Request, a auditActor, action, object string, detail any) {
	e := &runbooker.AuditEntry{
		TenantID: a.tenant, Time: s.Engine.Now(), Actor: a.name, ActorKind: a.kind, Surface: a.surface,
		Action: action, Object: object, Source: sourceKey(r),
	}
	if detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			s.Log.Error("audit detail does not encode", "action", action, "err", err)
		} else {
			e.Detail = b
		}
	}
	// A client that went away must not cost the record.
	if err := s.Store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		s.Log.Error("audit log append failed", "tenant", a.tenant, "action", action, "object", object, "err", err)
	}
}

// statusRecorder remembers the status a handler answered with.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusRecorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// audited records a successful change made through a management route:
// action names it ("runbook.put"), the object is the path's values joined
// by "/" (a runbook's name, an asset's type/name). Refused changes are not
// changes; a 403 is recorded as "<action>.denied" so probing shows up.
func (s *Server) audited(action string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		h(rec, r)
		c := principal(r.Context())
		if c == nil {
			return
		}
		var parts []string
		for _, k := range []string{"type", "kind", "name", "version", "key", "id", "upn"} {
			if v := r.PathValue(k); v != "" {
				parts = append(parts, v)
			}
		}
		object := strings.Join(parts, "/")
		switch {
		case rec.status >= 200 && rec.status < 300:
			s.record(r.Context(), r, actorOf(c), action, object, nil)
		case rec.status == http.StatusForbidden:
			s.record(r.Context(), r, actorOf(c), action+".denied", object, nil)
		}
	}
}

// secretParam matches parameter names whose values the audit log never
// keeps: a runbook that takes a password as a parameter still must not
// leave it in the log.
var secretParam = regexp.MustCompile(`(?i)(password|passwd|pwd|secret|token|apikey|api_key|credential|privatekey|passphrase|pin$)`)

// maskedParams returns params with the values of secret-looking names
// replaced.
func maskedParams(params map[string]any) map[string]any {
	out := make(map[string]any, len(params))
	for k, v := range params {
		if secretParam.MatchString(k) {
			v = "***"
		}
		out[k] = v
	}
	return out
}

// recordJobStart records a job someone started.
func (s *Server) recordJobStart(ctx context.Context, r *http.Request, c *who, j *runbooker.Job) {
	d := map[string]any{
		"jobId": j.ID, "runbook": j.RunbookName, "version": j.RunbookVersion, "runOn": j.RunOn,
		"parameters": maskedParams(j.Parameters),
	}
	if j.Target != nil {
		d["target"] = j.Target
	}
	s.record(ctx, r, actorOf(c), "job.start", j.RunbookName, d)
}

// AuditPage answers GET /api/v1/audit, oldest first; Next is the cursor
// (after=) of the following page, empty at the end.
type AuditPage struct {
	Entries []*runbooker.AuditEntry `json:"entries"`
	Next    string                  `json:"next,omitempty"`
}

func (s *Server) routeAudit(mux *routeMux) {
	mux.HandleFunc("GET /api/v1/audit", s.authenticate(access.Admin, s.handleListAudit))
}

func (s *Server) handleListAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := runbooker.AuditFilter{Action: q.Get("action"), Actor: q.Get("actor"), Object: q.Get("object")}
	var err error
	if v := q.Get("after"); v != "" {
		if f.AfterSeq, err = strconv.ParseInt(v, 10, 64); err != nil || f.AfterSeq < 0 {
			s.writeError(w, r, runbooker.Errorf(runbooker.EINVALID, "after must be the seq of an entry (a whole number), not %q", v))
			return
		}
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > 1000 {
			s.writeError(w, r, runbooker.Errorf(runbooker.EINVALID, "limit must be a whole number from 1 to 1000, not %q", v))
			return
		}
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(p.name); v != "" {
			if *p.dst, err = time.Parse(time.RFC3339, v); err != nil {
				s.writeError(w, r, runbooker.Errorf(runbooker.EINVALID, "%s must be an RFC 3339 time such as 2026-12-01T09:00:00Z, not %q", p.name, v))
				return
			}
		}
	}
	limit := f.Limit
	if limit == 0 {
		limit = 100
	}
	f.Limit = limit
	es, err := s.Store.ListAudit(r.Context(), principal(r.Context()).TenantID, f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page := AuditPage{Entries: es}
	if page.Entries == nil {
		page.Entries = []*runbooker.AuditEntry{}
	}
	if len(es) == limit {
		page.Next = strconv.FormatInt(es[len(es)-1].Seq, 10)
	}
	writeJSON(w, http.StatusOK, page)
}
