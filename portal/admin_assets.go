package portal

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/runbooker/runbooker"
	rbhttp "github.com/runbooker/runbooker/http"
)

// assetsData is the assets page: the list and the create/edit form. A
// secret asset's value is write-only: the API never answers it, and the
// form leaves it empty (an empty value keeps the stored one).
type assetsData struct {
	Assets []rbhttp.AssetView
	Form   assetForm
	Types  []runbooker.AssetType
}

type assetForm struct {
	Editing     bool
	Type, Name  string
	Description string
	Encrypted   bool
	Value       string // plain variables only
}

var assetTypes = []runbooker.AssetType{runbooker.AssetVariable, runbooker.AssetCredential, runbooker.AssetCertificate, runbooker.AssetConnection}

func assetPath(t, name string) string {
	return "/api/v1/assets/" + url.PathEscape(t) + "/" + url.PathEscape(name)
}

func (p *Portal) handleAdminAssets(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	d := &adminPage{}
	f := assetForm{Type: string(runbooker.AssetVariable)}
	if t, name, ok := strings.Cut(r.URL.Query().Get("edit"), "/"); ok {
		var a rbhttp.AssetView
		if err := p.call(r, http.MethodGet, assetPath(t, name), nil, &a); err != nil {
			d.Problem = messageOf(err)
		} else {
			f = assetForm{Editing: true, Type: string(a.Type), Name: a.Name, Description: a.Description, Encrypted: a.Encrypted}
			if !a.Encrypted {
				f.Value = string(a.Value)
			}
		}
	}
	p.showAssets(w, r, me, d, f)
}

func (p *Portal) showAssets(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView, d *adminPage, f assetForm) {
	var out struct {
		Assets []rbhttp.AssetView `json:"assets"`
	}
	if err := p.call(r, http.MethodGet, "/api/v1/assets", nil, &out); err != nil {
		p.adminFail(w, r, me, err)
		return
	}
	d.Body = &assetsData{Assets: out.Assets, Form: f, Types: assetTypes}
	status := http.StatusOK
	if d.Problem != "" && r.Method == http.MethodPost {
		status = http.StatusBadRequest
	}
	p.renderAdmin(w, r, me, status, "admin_assets", "Assets", "/admin/assets", d)
}

// assetValue turns what was typed into the asset document: JSON as is; for
// a variable, anything else is taken as a string.
func assetValue(t, v string) json.RawMessage {
	v = strings.TrimSpace(v)
	if json.Valid([]byte(v)) {
		return json.RawMessage(v)
	}
	if t == string(runbooker.AssetVariable) {
		b, _ := json.Marshal(v)
		return b
	}
	return json.RawMessage(v) // the API says what is wrong with it
}

func (p *Portal) handleAdminAssetPut(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	f := assetForm{Editing: r.PostFormValue("editing") == "1", Type: r.PostFormValue("type"), Name: strings.TrimSpace(r.PostFormValue("name")),
		Description: r.PostFormValue("description"), Encrypted: r.PostFormValue("encrypted") == "on"}
	value := r.PostFormValue("value")
	if f.Type != string(runbooker.AssetVariable) {
		f.Encrypted = true // the API seals every asset type but variables
	}
	if strings.TrimSpace(value) == "" {
		if !f.Editing {
			p.showAssets(w, r, me, &adminPage{Problem: "Type a value."}, f)
			return
		}
		// Keep the stored value: a plain one can be sent back; a secret
		// one cannot be read, so only an unchanged asset is kept as is.
		var a rbhttp.AssetView
		if err := p.call(r, http.MethodGet, assetPath(f.Type, f.Name), nil, &a); err != nil {
			p.showAssets(w, r, me, &adminPage{Problem: messageOf(err)}, f)
			return
		}
		if a.Encrypted {
			if a.Description == f.Description && f.Encrypted {
				back(w, r, "/admin/assets", "Nothing changed: the secret value of "+f.Name+" is kept.")
				return
			}
			p.showAssets(w, r, me, &adminPage{Problem: "A secret value cannot be read back: type the value again to change this asset."}, f)
			return
		}
		value = string(a.Value)
	}
	in := rbhttp.AssetPut{Description: f.Description, Encrypted: f.Encrypted, Value: assetValue(f.Type, value)}
	if err := p.call(r, http.MethodPut, assetPath(f.Type, f.Name), in, nil); err != nil {
		if statusOf(err) == http.StatusForbidden {
			p.adminFail(w, r, me, err)
			return
		}
		if !f.Encrypted {
			f.Value = value
		}
		p.showAssets(w, r, me, &adminPage{Problem: messageOf(err)}, f)
		return
	}
	back(w, r, "/admin/assets", "Saved "+f.Type+" "+f.Name+".")
}

func (p *Portal) handleAdminAssetDelete(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	t, name := r.PathValue("type"), r.PathValue("name")
	if err := p.call(r, http.MethodDelete, assetPath(t, name), nil, nil); err != nil {
		p.adminFail(w, r, me, err)
		return
	}
	back(w, r, "/admin/assets", "Deleted "+t+" "+name+".")
}
