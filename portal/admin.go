package portal

import (
	"net/http"
	"net/url"

	rbhttp "github.com/runbooker/runbooker/http"
)

// The administration pages (issue 13, item 6). Every one of them calls an
// Admin-only API route first, so a person without the Admin right gets the
// API's own 403 reason, shown as the page.
func (p *Portal) routeAdmin(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin", p.person(p.handleAdmin))
	mux.HandleFunc("GET /admin/workers", p.person(p.handleAdminWorkers))
	mux.HandleFunc("POST /admin/workers/{group}/rotate", p.person(p.handleAdminRotate))
	mux.HandleFunc("GET /admin/assets", p.person(p.handleAdminAssets))
	mux.HandleFunc("POST /admin/assets", p.person(p.handleAdminAssetPut))
	mux.HandleFunc("POST /admin/assets/{type}/{name}/delete", p.person(p.handleAdminAssetDelete))
	mux.HandleFunc("GET /admin/settings/{key}", p.person(p.handleAdminSetting))
	mux.HandleFunc("POST /admin/settings/{key}", p.person(p.handleAdminSettingSave))
	mux.HandleFunc("POST /admin/settings/customization/preview", p.person(p.handleAdminFormPreview))
	mux.HandleFunc("GET /admin/sync", p.person(p.handleAdminSync))
	mux.HandleFunc("POST /admin/sync", p.person(p.handleAdminSyncRun))
	mux.HandleFunc("GET /admin/users", p.person(p.handleAdminUsers))
	mux.HandleFunc("POST /admin/users", p.person(p.handleAdminUserCreate))
	mux.HandleFunc("POST /admin/users/{upn}/{op}", p.person(p.handleAdminUserChange))
	mux.HandleFunc("GET /admin/roles", p.person(p.handleAdminRoles))
	mux.HandleFunc("GET /admin/credentials", p.person(p.handleAdminCredentials))
	mux.HandleFunc("POST /admin/credentials", p.person(p.handleAdminCredentialCreate))
	mux.HandleFunc("POST /admin/credentials/{id}/delete", p.person(p.handleAdminCredentialDelete))
	mux.HandleFunc("GET /admin/audit", p.person(p.handleAdminAudit))
	mux.HandleFunc("GET /admin/schedules", p.person(p.handleAdminSchedules))
	mux.HandleFunc("POST /admin/schedules/defaults", p.person(p.handleAdminScheduleDefaults))
}

// adminSection is one entry of the overview and the section menu.
type adminSection struct {
	Path, Title, About string
}

var adminSections = []adminSection{
	{"/admin/workers", "Workers", "Worker groups, their workers, registration tokens and install commands."},
	{"/admin/assets", "Assets", "Variables, credentials, certificates and connections runbooks use."},
	{"/admin/settings/customization", "Customization", "How runbook forms look: labels, defaults, choices."},
	{"/admin/settings/permissions", "Permissions", "Which runbooks each role may run, on which targets."},
	{"/admin/roles", "Roles", "Portal roles, their rights, and who holds them."},
	{"/admin/settings/directory", "Directory", "Where users, groups and devices are looked up."},
	{"/admin/sync", "Sync", "Git repositories runbooks come from."},
	{"/admin/schedules", "Schedules", "When scheduled runbooks run next."},
	{"/admin/users", "Users", "Local accounts that sign in with a password."},
	{"/admin/credentials", "API credentials", "Keys for programs that call the API."},
	{"/admin/audit", "Audit log", "Who did what, and when."},
}

// adminPage is the data of every administration page.
type adminPage struct {
	Sections []adminSection
	Current  string
	Notice   string // a success message
	Problem  string // a failure message (the API's)
	Body     any    // the section's own data
}

// adminFail shows an API error as the page: 403 with the API's reason for
// a person without the Admin right.
func (p *Portal) adminFail(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView, err error) {
	p.renderError(w, r, me, statusOf(err), messageOf(err))
}

func (p *Portal) renderAdmin(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView, status int, name, title, current string, d *adminPage) {
	d.Sections, d.Current = adminSections, current
	if d.Notice == "" {
		d.Notice = r.URL.Query().Get("done")
	}
	p.render(w, r, me, status, name, title, d)
}

// back redirects after a successful form post (post/redirect/get), with a
// short message for the next page.
func back(w http.ResponseWriter, r *http.Request, path, done string) {
	if done != "" {
		path += "?done=" + url.QueryEscape(done)
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

func (p *Portal) handleAdmin(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	var roles any
	if err := p.call(r, http.MethodGet, "/api/v1/roles", nil, &roles); err != nil {
		p.adminFail(w, r, me, err)
		return
	}
	p.renderAdmin(w, r, me, http.StatusOK, "admin", "Administration", "/admin", &adminPage{})
}
