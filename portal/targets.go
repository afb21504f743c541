package portal

import (
	"bytes"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/runbooker/runbooker/access"
	"github.com/runbooker/runbooker/catalog"
	"github.com/runbooker/runbooker/directory"
	rbhttp "github.com/runbooker/runbooker/http"
)

// The support pages: find a user, device or group, see what may be run on
// it, fill in a runbook's form and start it.
func (p *Portal) routeTargets(mux *http.ServeMux) {
	mux.HandleFunc("GET /targets", p.person(p.handleSearch))
	mux.HandleFunc("GET /targets/{kind}/{id}", p.person(p.handleTarget))
	mux.HandleFunc("GET /org", p.person(p.handleOrg))
	mux.HandleFunc("GET /pick/{kind}", p.person(p.handlePick))
	mux.HandleFunc("GET /run/{runbook}", p.person(p.handleRunForm))
	mux.HandleFunc("POST /run/{runbook}", p.person(p.handleRunStart))
}

// kinds are the directory's kinds of objects, as the pages name them.
var kinds = []struct{ Kind, Label, Plural string }{
	{"user", "User", "users"}, {"device", "Device", "devices"}, {"group", "Group", "groups"},
}

func validKind(k string) bool { return directory.Kind(k).Valid() }

// noDirectory reports whether err says the tenant has no directory.
func noDirectory(err error) bool {
	return statusOf(err) == http.StatusNotFound && strings.Contains(messageOf(err), "no directory")
}

// searchData is the search page's.
type searchData struct {
	Kind, Q     string
	Kinds       any
	Objects     []directory.Object
	NoDirectory bool
	Error       string
}

func (p *Portal) handleSearch(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	d := searchData{Kind: r.URL.Query().Get("kind"), Q: strings.TrimSpace(r.URL.Query().Get("q")), Kinds: kinds}
	if !validKind(d.Kind) {
		d.Kind = "user"
	}
	var out struct {
		Objects []directory.Object `json:"objects"`
	}
	q := url.Values{"search": {d.Q}, "limit": {"50"}}
	err := p.call(r, http.MethodGet, "/api/v1/directory/"+d.Kind+"s?"+q.Encode(), nil, &out)
	switch {
	case noDirectory(err):
		d.NoDirectory = true
	case err != nil:
		d.Error = messageOf(err)
	}
	d.Objects = out.Objects
	p.render(w, r, me, http.StatusOK, "targets", "Users, devices, groups", d)
}

// category is a heading of a runbook list with its runbooks.
type category struct {
	ID, Name string
	Runbooks []rbhttp.RunbookView
}

// byCategory groups runbooks under their categories, both in alphabetical
// order, runbooks without a category last.
func byCategory(rbs []rbhttp.RunbookView) []category {
	idx := map[string]int{}
	var out []category
	for _, rb := range rbs {
		i, ok := idx[rb.Category]
		if !ok {
			name := strings.ReplaceAll(rb.Category, "-", " ")
			if name == "" {
				name = "Other"
			} else {
				name = strings.ToUpper(name[:1]) + name[1:]
			}
			id := rb.Category
			if id == "" {
				id = "other"
			}
			i = len(out)
			idx[rb.Category] = i
			out = append(out, category{ID: "cat-" + htmlID(id), Name: name})
		}
		out[i].Runbooks = append(out[i].Runbooks, rb)
	}
	sort.SliceStable(out, func(a, b int) bool {
		if (out[a].ID == "cat-other") != (out[b].ID == "cat-other") {
			return out[b].ID == "cat-other"
		}
		return out[a].Name < out[b].Name
	})
	for _, c := range out {
		sort.SliceStable(c.Runbooks, func(a, b int) bool {
			return strings.ToLower(title(c.Runbooks[a])) < strings.ToLower(title(c.Runbooks[b]))
		})
	}
	return out
}

// title is what people call a runbook.
func title(rb rbhttp.RunbookView) string {
	if rb.DisplayName != "" {
		return rb.DisplayName
	}
	return rb.Name
}

// targetData is the target page's.
type targetData struct {
	Kind       string
	Object     *directory.Object
	Primary    *directory.Object // a device's primary user
	Categories []category
}

// lookup finds a directory object; a tenant without a directory knows only
// the key it was given.
func (p *Portal) lookup(r *http.Request, kind, key string) (*directory.Object, error) {
	var o directory.Object
	err := p.call(r, http.MethodGet, "/api/v1/directory/"+kind+"s/"+url.PathEscape(key), nil, &o)
	if noDirectory(err) {
		o = directory.Object{Kind: directory.Kind(kind), ID: key, DisplayName: key}
		if kind == "user" && strings.Contains(key, "@") {
			o.UserPrincipalName = key
		}
		return &o, nil
	}
	if err != nil {
		return nil, err
	}
	return &o, nil
}

// notFound shows the page for an object the directory does not know.
func (p *Portal) notFound(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView, kind, id string) {
	p.renderError(w, r, me, http.StatusNotFound, "There is no "+kind+" “"+id+"” in the directory.")
}

func (p *Portal) handleTarget(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	kind, id := r.PathValue("kind"), r.PathValue("id")
	if !validKind(kind) {
		p.renderError(w, r, me, http.StatusNotFound, "There are users, devices and groups, nothing called “"+kind+"”.")
		return
	}
	var tr rbhttp.TargetRunbooks
	if err := p.call(r, http.MethodGet, "/api/v1/targets/"+kind+"/"+url.PathEscape(id)+"/runbooks", nil, &tr); err != nil {
		if statusOf(err) == http.StatusNotFound {
			p.notFound(w, r, me, kind, id)
			return
		}
		p.renderError(w, r, me, statusOf(err), messageOf(err))
		return
	}
	t := tr.Target
	if t == nil {
		t = &access.Target{Kind: kind, ID: id, Name: id}
	}
	obj, err := p.lookup(r, kind, t.ID)
	if err != nil {
		if statusOf(err) == http.StatusNotFound {
			p.notFound(w, r, me, kind, id)
			return
		}
		p.renderError(w, r, me, statusOf(err), messageOf(err))
		return
	}
	d := targetData{Kind: kind, Object: obj, Categories: byCategory(tr.Runbooks)}
	if obj.PrimaryUser != "" {
		if u, err := p.lookup(r, "user", obj.PrimaryUser); err == nil {
			d.Primary = u
		} else {
			d.Primary = &directory.Object{Kind: directory.User, ID: obj.PrimaryUser, DisplayName: obj.PrimaryUser}
		}
	}
	p.render(w, r, me, http.StatusOK, "target", obj.DisplayName, d)
}

func (p *Portal) handleOrg(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	var out struct {
		Runbooks []rbhttp.RunbookView `json:"runbooks"`
	}
	if err := p.call(r, http.MethodGet, "/api/v1/runbooks?scope=org&forms=false", nil, &out); err != nil {
		p.renderError(w, r, me, statusOf(err), messageOf(err))
		return
	}
	p.render(w, r, me, http.StatusOK, "org", "Organisation", targetData{Categories: byCategory(out.Runbooks)})
}

// handlePick answers an entity picker's search with <option> elements for
// its datalist (htmx swaps them in).
func (p *Portal) handlePick(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	kind := r.PathValue("kind")
	if !validKind(kind) {
		http.Error(w, "unknown kind", http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	text := q.Get("q")
	for k, v := range q { // htmx sends the picker's own field: p.<name>=text
		if text == "" && strings.HasPrefix(k, inputPrefix) && len(v) > 0 {
			text = v[0]
		}
	}
	picks, _ := p.picks(r, kind, text, q.Get("returns"))
	var buf bytes.Buffer
	if err := p.pages["run"].ExecuteTemplate(&buf, "targets_picks", picks); err != nil {
		p.log.Error("portal: rendering picks", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

// picks searches the directory for an entity picker.
func (p *Portal) picks(r *http.Request, kind, text, returns string) ([]pick, error) {
	var out struct {
		Objects []directory.Object `json:"objects"`
	}
	q := url.Values{"search": {strings.TrimSpace(text)}, "limit": {"20"}}
	if err := p.call(r, http.MethodGet, "/api/v1/directory/"+kind+"s?"+q.Encode(), nil, &out); err != nil {
		return nil, err
	}
	picks := make([]pick, 0, len(out.Objects))
	for _, o := range out.Objects {
		picks = append(picks, pickOf(o, returns))
	}
	return picks, nil
}

// runbookForm is a runbook with its form decoded.
type runbookForm struct {
	rbhttp.RunbookView
	Form catalog.Form `json:"form"`
}

// runData is the run page's.
type runData struct {
	Runbook runbookForm
	Title   string
	Kind    string
	Target  *directory.Object
	Form    *runForm
	Action  string // where the form posts
	Back    string // the page the person came from
	Error   string // the message at the top
	Groups  []string
	RunOn   string
}

// loadRun reads what the run page needs, or answers with the problem.
func (p *Portal) loadRun(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) (*runData, bool) {
	name := r.PathValue("runbook")
	d := &runData{}
	if err := p.call(r, http.MethodGet, "/api/v1/runbooks/"+url.PathEscape(name), nil, &d.Runbook); err != nil {
		msg := messageOf(err)
		if statusOf(err) == http.StatusNotFound {
			msg = "There is no runbook “" + name + "”."
		}
		p.renderError(w, r, me, statusOf(err), msg)
		return nil, false
	}
	d.Title = title(d.Runbook.RunbookView)
	kind, id := r.URL.Query().Get("kind"), r.URL.Query().Get("id")
	d.Back, d.Action = "/org", "/run/"+url.PathEscape(name)
	if id != "" {
		if kind != d.Runbook.Scope {
			p.renderError(w, r, me, http.StatusBadRequest, "This runbook is for "+scopeWord(d.Runbook.Scope)+", not for a "+kind+".")
			return nil, false
		}
		obj, err := p.lookup(r, kind, id)
		if err != nil {
			if statusOf(err) == http.StatusNotFound {
				p.notFound(w, r, me, kind, id)
			} else {
				p.renderError(w, r, me, statusOf(err), messageOf(err))
			}
			return nil, false
		}
		d.Kind, d.Target = kind, obj
		d.Back = "/targets/" + kind + "/" + url.PathEscape(obj.ID)
		d.Action += "?" + url.Values{"kind": {kind}, "id": {obj.ID}}.Encode()
	} else if d.Runbook.Scope != "org" {
		d.Back = "/targets?kind=" + url.QueryEscape(d.Runbook.Scope)
	}
	d.Form = newRunForm(d.Runbook.Form, d.Target)
	if hasRight(me, "Admin") {
		var gs struct {
			Groups []rbhttp.GroupView `json:"groups"`
		}
		if err := p.call(r, http.MethodGet, "/api/v1/groups", nil, &gs); err == nil && len(gs.Groups) > 1 {
			for _, g := range gs.Groups {
				d.Groups = append(d.Groups, g.Name)
			}
		}
	}
	return d, true
}

// scopeWord names what runbooks of a scope work on.
func scopeWord(scope string) string {
	switch scope {
	case "org":
		return "the whole organisation"
	case "":
		return "nothing in particular"
	}
	return scope + "s"
}

// fillPicks gives every entity picker its first suggestions.
func (p *Portal) fillPicks(r *http.Request, d *runData) {
	for _, x := range d.Form.Fields {
		if x.Control == catalog.ControlEntity && !x.Hide && validKind(x.Entity) {
			x.Picks, _ = p.picks(r, x.Entity, "", x.Returns)
		}
	}
}

func (p *Portal) handleRunForm(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	d, ok := p.loadRun(w, r, me)
	if !ok {
		return
	}
	p.fillPicks(r, d)
	p.render(w, r, me, http.StatusOK, "run", "Run "+d.Title, d)
}

// handleRunStart starts the job the posted form describes, or shows the
// form again with what is wrong next to the fields it concerns.
func (p *Portal) handleRunStart(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	if err := r.ParseForm(); err != nil { // usually parsed by the CSRF check already, not when htmx sent the token as a header
		p.renderError(w, r, me, http.StatusBadRequest, "The form could not be read.")
		return
	}
	d, ok := p.loadRun(w, r, me)
	if !ok {
		return
	}
	d.Form.read(r.PostForm)
	d.RunOn = r.PostFormValue("runOn")
	params, ok := d.Form.params()
	status := http.StatusBadRequest
	if ok {
		path := "/api/external/runbook/" + url.PathEscape(d.Runbook.Name) + "/start"
		if d.RunOn != "" && len(d.Groups) > 0 {
			path += "?" + url.Values{"runOn": {d.RunOn}}.Encode()
		}
		var res rbhttp.RunResponse
		err := p.call(r, http.MethodPost, path, params, &res)
		if err == nil {
			http.Redirect(w, r, "/jobs/"+url.PathEscape(res.JobID), http.StatusSeeOther)
			return
		}
		status = statusOf(err)
		switch status {
		case http.StatusBadRequest:
			d.Error = "The job was not started: " + messageOf(err)
			if d.Form.blame(messageOf(err)) {
				d.Error = "The job was not started. Please correct:" // the list below gives the message
			}
		case http.StatusForbidden:
			d.Error = "You may not run this: " + messageOf(err)
		default:
			d.Error = "The job could not be started: " + messageOf(err)
		}
	} else {
		d.Error = "Please correct the marked fields."
	}
	p.fillPicks(r, d)
	p.render(w, r, me, status, "run", "Run "+d.Title, d)
}
