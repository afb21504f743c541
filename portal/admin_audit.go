package portal

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	rbhttp "github.com/runbooker/runbooker/http"
)

// auditData is the audit log page: the filters as typed and one page of
// entries, with the link to the next.
type auditData struct {
	Action, Actor, Object, Since, Until string
	Page                                rbhttp.AuditPage
	NextURL                             string
}

// auditTime reads a filter time as typed: RFC 3339 or the browser's
// datetime-local ("2026-12-01T09:00", taken as UTC).
func auditTime(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC().Format(time.RFC3339)
		}
	}
	return v // RFC 3339, or wrong: the API says so
}

func (p *Portal) handleAdminAudit(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	q := r.URL.Query()
	d := &auditData{Action: q.Get("action"), Actor: q.Get("actor"), Object: q.Get("object"), Since: q.Get("since"), Until: q.Get("until")}
	api := url.Values{}
	for k, v := range map[string]string{"action": d.Action, "actor": d.Actor, "object": d.Object,
		"since": auditTime(d.Since), "until": auditTime(d.Until), "after": q.Get("after")} {
		if v != "" {
			api.Set(k, v)
		}
	}
	api.Set("limit", "100")
	pg := &adminPage{Body: d}
	if err := p.call(r, http.MethodGet, "/api/v1/audit?"+api.Encode(), nil, &d.Page); err != nil {
		if statusOf(err) != http.StatusBadRequest {
			p.adminFail(w, r, me, err)
			return
		}
		pg.Problem = messageOf(err)
	}
	if d.Page.Next != "" {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("after", d.Page.Next)
		d.NextURL = "/admin/audit?" + next.Encode()
	}
	p.renderAdmin(w, r, me, http.StatusOK, "admin_audit", "Audit log", "/admin/audit", pg)
}
