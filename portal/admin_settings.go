package portal

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/runbooker/runbooker/catalog"
	rbhttp "github.com/runbooker/runbooker/http"
)

// settingInfo describes a settings document the editor offers.
type settingInfo struct {
	Title, About string
}

var settingKeys = map[string]settingInfo{
	rbhttp.SettingCustomization: {"Customization", "The RealmJoin-style customization document: labels, defaults and choices of runbook forms."},
	rbhttp.SettingPermissions:   {"Permissions", "Which runbooks each role may run, and on which targets."},
	rbhttp.SettingRoles:         {"Roles", "Portal roles, their rights, and which users and groups hold them."},
	rbhttp.SettingDirectory:     {"Directory", "Where users, groups and devices are looked up."},
}

// settingData is an editor page: the document, the error of a refused
// save with its place, and for the customization a form preview.
type settingData struct {
	Key     string
	Info    settingInfo
	Doc     string
	Error   *docError
	Saved   bool
	Preview *formPreview
	// Runbooks are the runbooks a preview can be made for.
	Runbooks []rbhttp.RunbookView
	Runbook  string
}

// docError is the API's message about a refused document and, when the
// message names a line, that line with a marker under the column.
type docError struct {
	Message      string
	Line, Column int
	Text         string // the line
	Marker       string // spaces then ^ under the column
}

type formPreview struct {
	Runbook  string
	Form     catalog.Form
	Warnings []string
}

// errorPlace finds "line L" and optionally ", column C" in a parse error,
// as loosejson and the access checks write them.
var errorPlace = regexp.MustCompile(`\bline (\d+)(?:, column (\d+))?`)

func newDocError(msg, doc string) *docError {
	e := &docError{Message: msg}
	m := errorPlace.FindStringSubmatch(msg)
	if m == nil {
		return e
	}
	e.Line, _ = strconv.Atoi(m[1])
	if m[2] != "" {
		e.Column, _ = strconv.Atoi(m[2])
	}
	lines := strings.Split(strings.ReplaceAll(doc, "\r\n", "\n"), "\n")
	if e.Line < 1 || e.Line > len(lines) {
		e.Line = 0
		return e
	}
	e.Text = lines[e.Line-1]
	if e.Column > 0 {
		var pad strings.Builder
		for i, r := range []rune(e.Text) {
			if i >= e.Column-1 {
				break
			}
			if r == '\t' {
				pad.WriteRune('\t')
			} else {
				pad.WriteRune(' ')
			}
		}
		e.Marker = pad.String() + "^"
	}
	return e
}

func (p *Portal) settingKey(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) (string, settingInfo, bool) {
	key := r.PathValue("key")
	if key == "" {
		key = rbhttp.SettingCustomization
	}
	info, ok := settingKeys[key]
	if !ok {
		p.renderError(w, r, me, http.StatusNotFound, "There is no setting "+key+".")
	}
	return key, info, ok
}

func (p *Portal) handleAdminSetting(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	key, info, ok := p.settingKey(w, r, me)
	if !ok {
		return
	}
	var doc []byte
	if err := p.call(r, http.MethodGet, "/api/v1/settings/"+key, nil, &doc); err != nil {
		p.adminFail(w, r, me, err)
		return
	}
	p.showSetting(w, r, me, http.StatusOK, &settingData{Key: key, Info: info, Doc: string(doc), Runbook: r.URL.Query().Get("runbook")}, &adminPage{})
}

func (p *Portal) showSetting(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView, status int, d *settingData, pg *adminPage) {
	if d.Key == rbhttp.SettingCustomization {
		var out struct {
			Runbooks []rbhttp.RunbookView `json:"runbooks"`
		}
		if err := p.call(r, http.MethodGet, "/api/v1/runbooks?forms=false", nil, &out); err == nil {
			d.Runbooks = out.Runbooks
		}
	}
	pg.Body = d
	p.renderAdmin(w, r, me, status, "admin_settings", d.Info.Title, "/admin/settings/"+d.Key, pg)
}

func (p *Portal) handleAdminSettingSave(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	key, info, ok := p.settingKey(w, r, me)
	if !ok {
		return
	}
	doc := r.PostFormValue("document")
	d := &settingData{Key: key, Info: info, Doc: doc, Runbook: r.PostFormValue("runbook")}
	err := p.callRaw(r.Context(), r, http.MethodPut, "/api/v1/settings/"+key, strings.NewReader(doc), "application/json", nil)
	if err != nil {
		if statusOf(err) == http.StatusForbidden {
			p.adminFail(w, r, me, err)
			return
		}
		d.Error = newDocError(messageOf(err), doc)
		p.showSetting(w, r, me, statusOf(err), d, &adminPage{})
		return
	}
	back(w, r, "/admin/settings/"+key, info.Title+" saved.")
}

// handleAdminFormPreview shows the form of a runbook as the edited,
// unsaved customization document would make it.
func (p *Portal) handleAdminFormPreview(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	key := rbhttp.SettingCustomization
	doc := r.PostFormValue("document")
	d := &settingData{Key: key, Info: settingKeys[key], Doc: doc, Runbook: r.PostFormValue("runbook")}
	pg := &adminPage{}
	if d.Runbook == "" {
		pg.Problem = "Choose a runbook to preview its form."
		p.showSetting(w, r, me, http.StatusOK, d, pg)
		return
	}
	var out struct {
		Form     catalog.Form `json:"form"`
		Warnings []struct {
			Line    int    `json:"line"`
			Message string `json:"message"`
		} `json:"warnings"`
	}
	err := p.callRaw(r.Context(), r, http.MethodPost, "/api/v1/runbooks/"+url.PathEscape(d.Runbook)+"/form-preview",
		bytes.NewReader([]byte(doc)), "application/json", &out)
	switch {
	case statusOf(err) == http.StatusForbidden:
		p.adminFail(w, r, me, err)
		return
	case err != nil && statusOf(err) == http.StatusBadRequest:
		d.Error = newDocError(messageOf(err), doc)
	case err != nil:
		pg.Problem = messageOf(err)
	default:
		fp := &formPreview{Runbook: d.Runbook, Form: out.Form}
		for _, w := range out.Warnings {
			fp.Warnings = append(fp.Warnings, w.Message)
		}
		d.Preview = fp
	}
	p.showSetting(w, r, me, http.StatusOK, d, pg)
}
