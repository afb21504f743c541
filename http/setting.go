package http

import (
	"net/http"
	"strings"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/access"
	"github.com/runbooker/runbooker/entra"
	"github.com/runbooker/runbooker/loosejson"
)

// Tenant settings documents served under /api/v1/settings/{key}.
const (
	SettingCustomization = "customization" // RealmJoin-style customization JSON
	SettingPermissions   = "permissions"   // permissions JSON
)

// knownSettings maps each settings document to the check a new version
// must pass before it is stored.
var knownSettings = map[string]func([]byte) error{
	SettingCustomization: func(b []byte) error { _, err := loosejson.Decode(b); return err },
	SettingPermissions:   func(b []byte) error { _, err := access.ParsePermissions(b); return err },
	SettingRoles:         func(b []byte) error { _, err := access.ParseRoles(b); return err },
	SettingDirectory:     func(b []byte) error { _, err := parseDirectorySetting(b); return err },
	entra.SettingKey:     func(b []byte) error { _, err := entra.ParseSetting(b); return err },
}

const knownSettingNames = "customization, permissions, roles, directory, identity"

const maxSettingBody = 4 << 20

func (s *Server) handleGetSetting(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	_, ok := knownSettings[key]
	if !ok {
		s.writeError(w, r, runbooker.Errorf(runbooker.ENOTFOUND, "unknown setting %q (known: %s)", key, knownSettingNames))
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
	check, ok := knownSettings[key]
	if !ok {
		s.writeError(w, r, runbooker.Errorf(runbooker.ENOTFOUND, "unknown setting %q (known: %s)", key, knownSettingNames))
		return
	}
	body, err := readBody(w, r, maxSettingBody)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := check(body); err != nil {
		s.writeError(w, r, runbooker.Errorf(runbooker.EINVALID, "%s: %s", key, strings.TrimPrefix(problemText(err), key+": ")))
		return
	}
	if err := s.Store.PutSetting(r.Context(), principal(r.Context()).TenantID, key, body); err != nil {
		s.writeError(w, r, err)
		return
	}
	if key == entra.SettingKey {
		s.Engine.ForgetIdentity(principal(r.Context()).TenantID)
	}
	w.WriteHeader(http.StatusNoContent)
}

// problemText is the client-safe text of a document check's error: parse
// errors are plain errors that say where the document is wrong.
func problemText(err error) string {
	if runbooker.ErrorCode(err) == runbooker.EINTERNAL {
		return err.Error()
	}
	return runbooker.ErrorMessage(err)
}
