package portal

import (
	"net/http"
	"net/url"

	rbhttp "github.com/runbooker/runbooker/http"
)

// schedulesData is the schedules page's: every schedule with its next run,
// and the runbooks linked to them with theirs.
type schedulesData struct {
	Schedules    rbhttp.ScheduleList
	JobSchedules rbhttp.JobScheduleList
	CanEdit      bool
}

func (p *Portal) handleAdminSchedules(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	d := &schedulesData{CanEdit: (&page{Me: me}).Has("CanEditRunbookSchedules")}
	if err := p.call(r, http.MethodGet, "/api/v1/schedules", nil, &d.Schedules); err != nil {
		p.adminFail(w, r, me, err)
		return
	}
	if err := p.call(r, http.MethodGet, "/api/v1/jobschedules", nil, &d.JobSchedules); err != nil {
		p.adminFail(w, r, me, err)
		return
	}
	p.renderAdmin(w, r, me, http.StatusOK, "admin_schedules", "Schedules", "/admin/schedules", &adminPage{Body: d})
}

// handleAdminScheduleDefaults creates the Hourly, Daily, Weekly and
// Monthly schedules that are missing.
func (p *Portal) handleAdminScheduleDefaults(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	if err := p.call(r, http.MethodPost, "/api/v1/schedules/defaults", nil, nil); err != nil {
		p.adminFail(w, r, me, err)
		return
	}
	http.Redirect(w, r, "/admin/schedules?done="+url.QueryEscape("The default schedules exist."), http.StatusSeeOther)
}
