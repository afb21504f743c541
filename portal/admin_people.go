package portal

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/access"
	rbhttp "github.com/runbooker/runbooker/http"
)

// usersData is the local accounts page.
type usersData struct {
	Users []*runbooker.User
	Form  rbhttp.UserInput
}

func (p *Portal) handleAdminUsers(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	p.showUsers(w, r, me, &adminPage{}, rbhttp.UserInput{})
}

func (p *Portal) showUsers(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView, pg *adminPage, f rbhttp.UserInput) {
	var out struct {
		Users []*runbooker.User `json:"users"`
	}
	if err := p.call(r, http.MethodGet, "/api/v1/users", nil, &out); err != nil {
		p.adminFail(w, r, me, err)
		return
	}
	f.Password = ""
	pg.Body = &usersData{Users: out.Users, Form: f}
	status := http.StatusOK
	if pg.Problem != "" {
		status = http.StatusBadRequest
	}
	p.renderAdmin(w, r, me, status, "admin_users", "Users", "/admin/users", pg)
}

func (p *Portal) handleAdminUserCreate(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	in := rbhttp.UserInput{UPN: strings.TrimSpace(r.PostFormValue("upn")), DisplayName: r.PostFormValue("displayName"), Password: r.PostFormValue("password")}
	if err := p.call(r, http.MethodPost, "/api/v1/users", in, nil); err != nil {
		if statusOf(err) == http.StatusForbidden {
			p.adminFail(w, r, me, err)
			return
		}
		p.showUsers(w, r, me, &adminPage{Problem: messageOf(err)}, in)
		return
	}
	back(w, r, "/admin/users", "Created "+in.UPN+".")
}

// handleAdminUserChange disables, enables or deletes a local account.
func (p *Portal) handleAdminUserChange(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	upn, op := r.PathValue("upn"), r.PathValue("op")
	path := "/api/v1/users/" + url.PathEscape(upn)
	var err error
	var done string
	switch op {
	case "disable", "enable":
		off := op == "disable"
		err = p.call(r, http.MethodPut, path, rbhttp.UserInput{Disabled: &off}, nil)
		done = upn + " is " + op + "d."
	case "delete":
		err = p.call(r, http.MethodDelete, path, nil, nil)
		done = upn + " is deleted."
	default:
		p.renderError(w, r, me, http.StatusNotFound, "There is no page at "+r.URL.Path+".")
		return
	}
	if err != nil {
		if statusOf(err) == http.StatusForbidden {
			p.adminFail(w, r, me, err)
			return
		}
		p.showUsers(w, r, me, &adminPage{Problem: messageOf(err)}, rbhttp.UserInput{})
		return
	}
	back(w, r, "/admin/users", done)
}

// rolesData is the roles page: every role with its rights, and who holds which.
type rolesData struct {
	Roles       []rbhttp.RoleView
	Assignments []access.RoleAssignment
}

func (p *Portal) handleAdminRoles(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	var raw []byte
	if err := p.call(r, http.MethodGet, "/api/v1/roles", nil, &raw); err != nil {
		p.adminFail(w, r, me, err)
		return
	}
	d := &rolesData{}
	var list struct {
		Roles       []rbhttp.RoleView       `json:"roles"`
		Assignments []access.RoleAssignment `json:"assignments"`
	}
	if json.Unmarshal(raw, &list) == nil && len(list.Roles) > 0 {
		d.Roles, d.Assignments = list.Roles, list.Assignments
	} else if json.Unmarshal(raw, &d.Roles) != nil || len(d.Roles) == 0 {
		// The API answered no list: read the stored document instead.
		var doc []byte
		if err := p.call(r, http.MethodGet, "/api/v1/settings/"+rbhttp.SettingRoles, nil, &doc); err != nil {
			p.adminFail(w, r, me, err)
			return
		}
		rs, err := access.ParseRoles(doc)
		if err != nil {
			rs, _ = access.ParseRoles([]byte("{}"))
		}
		for _, ro := range rs.All() {
			d.Roles = append(d.Roles, rbhttp.RoleView{Name: ro.Name, Rights: ro.Rights, BuiltIn: ro.BuiltIn})
		}
		d.Assignments = rs.Assignments()
	}
	p.renderAdmin(w, r, me, http.StatusOK, "admin_roles", "Roles", "/admin/roles", &adminPage{Body: d})
}

// credentialsData is the API credentials page; Created is set right after
// a credential was made, the only time its secret is shown.
type credentialsData struct {
	Credentials []*runbooker.Credential
	Created     *rbhttp.CreatedCredential
	Form        rbhttp.CredentialInput
}

func (p *Portal) handleAdminCredentials(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	p.showCredentials(w, r, me, &adminPage{}, &credentialsData{})
}

func (p *Portal) showCredentials(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView, pg *adminPage, d *credentialsData) {
	var out struct {
		Credentials []*runbooker.Credential `json:"credentials"`
	}
	if err := p.call(r, http.MethodGet, "/api/v1/credentials", nil, &out); err != nil {
		p.adminFail(w, r, me, err)
		return
	}
	d.Credentials = out.Credentials
	pg.Body = d
	status := http.StatusOK
	if pg.Problem != "" {
		status = http.StatusBadRequest
	}
	p.renderAdmin(w, r, me, status, "admin_credentials", "API credentials", "/admin/credentials", pg)
}

func (p *Portal) handleAdminCredentialCreate(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	in := rbhttp.CredentialInput{Name: strings.TrimSpace(r.PostFormValue("name")), Role: runbooker.Role(r.PostFormValue("role")),
		User: strings.TrimSpace(r.PostFormValue("user"))}
	var created rbhttp.CreatedCredential
	if err := p.call(r, http.MethodPost, "/api/v1/credentials", in, &created); err != nil {
		if statusOf(err) == http.StatusForbidden {
			p.adminFail(w, r, me, err)
			return
		}
		p.showCredentials(w, r, me, &adminPage{Problem: messageOf(err)}, &credentialsData{Form: in})
		return
	}
	p.showCredentials(w, r, me, &adminPage{Notice: "Created credential " + in.Name + ". Copy its secret now: it is not shown again."},
		&credentialsData{Created: &created})
}

func (p *Portal) handleAdminCredentialDelete(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	id := r.PathValue("id")
	if err := p.call(r, http.MethodDelete, "/api/v1/credentials/"+url.PathEscape(id), nil, nil); err != nil {
		p.adminFail(w, r, me, err)
		return
	}
	back(w, r, "/admin/credentials", "Deleted credential "+id+".")
}
