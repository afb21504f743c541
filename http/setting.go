package http

import (
	"net/http"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/loosejson"
)

// Tenant settings documents served under /api/v1/settings/{key}.
const (
	SettingCustomization = "customization" // RealmJoin-style customization JSON
	SettingPermissions   = "permissions"   // permissions JSON
)

var knownSettings = map[string]bool{SettingCustomization: true, SettingPermissions: true}

const maxSettingBody = 4 << 20

func (s *Server) handleGetSetting(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if !knownSettings[key] {
		s.writeError(w, r, runbooker.Errorf(runbooker.ENOTFOUND, "unknown setting %q (known: customization, permissions)", key))
		return
	}
	v, err := s.Store.Setting(r.Context(), principal(r.Context()).TenantID, key)
	if runbooker.ErrorCode(err) == runbooker.ENOTFOUND {
		v, err = []byte("{}"), nil
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(v)
}

// handlePutSetting stores a settings document verbatim (comments and
// trailing commas included, as operators write them) after checking that it
// parses.
func (s *Server) handlePutSetting(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if !knownSettings[key] {
		s.writeError(w, r, runbooker.Errorf(runbooker.ENOTFOUND, "unknown setting %q (known: customization, permissions)", key))
		return
	}
	body, err := readBody(w, r, maxSettingBody)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := loosejson.Decode(body); err != nil {
		s.writeError(w, r, runbooker.Errorf(runbooker.EINVALID, "%s is not valid JSON: %v", key, err))
		return
	}
	if err := s.Store.PutSetting(r.Context(), principal(r.Context()).TenantID, key, body); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
