package http

import (
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/access"
	"github.com/runbooker/runbooker/directory"
	"github.com/runbooker/runbooker/password"
)

func (s *Server) routePeople(mux *routeMux) {
	A := access.Admin
	mux.HandleFunc("GET /api/v1/users", s.authenticate(A, s.handleListUsers))
	mux.HandleFunc("POST /api/v1/users", s.authenticate(A, s.audited("user.create", s.handleCreateUser)))
	mux.HandleFunc("PUT /api/v1/users/{upn}", s.authenticate(A, s.audited("user.update", s.handleUpdateUser)))
	mux.HandleFunc("DELETE /api/v1/users/{upn}", s.authenticate(A, s.audited("user.delete", s.handleDeleteUser)))
	mux.HandleFunc("GET /api/v1/credentials", s.authenticate(A, s.handleListCredentials))
	mux.HandleFunc("POST /api/v1/credentials", s.authenticate(A, s.audited("credential.create", s.handleCreateCredential)))
	mux.HandleFunc("DELETE /api/v1/credentials/{id}", s.authenticate(A, s.audited("credential.delete", s.handleDeleteCredential)))
	mux.HandleFunc("GET /api/v1/directory/{kind}", s.authenticate(access.CanSeeRunbooks, s.handleSearchDirectory))
	mux.HandleFunc("GET /api/v1/directory/{kind}/{id}", s.authenticate(access.CanSeeRunbooks, s.handleGetDirectoryObject))
	mux.HandleFunc("GET /api/v1/targets/{kind}/{id}/runbooks", s.authenticate(access.CanSeeRunbooks, s.handleTargetRunbooks))
	mux.HandleFunc("GET /api/v1/roles", s.authenticate(A, s.handleListRoles))
}

// UserInput is the body of POST /api/v1/users and PUT /api/v1/users/{upn};
// on PUT, absent fields stay as they are.
type UserInput struct {
	UPN         string `json:"upn,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	Password    string `json:"password,omitempty"`
	Disabled    *bool  `json:"disabled,omitempty"`
}

// MinPasswordLength is the shortest password a local user may have.
const MinPasswordLength = 8

// CheckPassword refuses passwords too short to be one.
func CheckPassword(pw string) error {
	if utf8.RuneCountInString(pw) < MinPasswordLength {
		return runbooker.Errorf(runbooker.EINVALID, "password: at least %d characters", MinPasswordLength)
	}
	return nil
}

func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request) {
	us, err := s.Store.ListUsers(r.Context(), principal(r.Context()).TenantID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if us == nil {
		us = []*runbooker.User{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": us})
}

func (s *Server) readUserInput(w http.ResponseWriter, r *http.Request) (*UserInput, error) {
	body, err := readBody(w, r, 64<<10)
	if err != nil {
		return nil, err
	}
	var in UserInput
	if err := decodeStrict(body, &in); err != nil {
		return nil, runbooker.Errorf(runbooker.EINVALID, `request body must be {"upn": U, "displayName": N, "password": P, "disabled": false}: %s`, jsonProblem(err))
	}
	if in.Password != "" {
		if err := CheckPassword(in.Password); err != nil {
			return nil, err
		}
	}
	return &in, nil
}

func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	in, err := s.readUserInput(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	in.UPN = strings.TrimSpace(in.UPN)
	if in.UPN == "" || strings.ContainsAny(in.UPN, "\x00/ ") || len(in.UPN) > 256 {
		s.writeError(w, r, runbooker.Errorf(runbooker.EINVALID, "upn: a user principal name such as helpdesk@contoso.com is required"))
		return
	}
	if in.Password == "" {
		s.writeError(w, r, runbooker.Errorf(runbooker.EINVALID, "password is required"))
		return
	}
	hash, err := password.Hash(in.Password)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	now := s.Engine.Now()
	u := &runbooker.User{TenantID: principal(r.Context()).TenantID, ID: runbooker.NewID(), UPN: in.UPN, DisplayName: in.DisplayName,
		PasswordHash: hash, Disabled: in.Disabled != nil && *in.Disabled, CreatedAt: now, UpdatedAt: now}
	if err := s.Store.CreateUser(r.Context(), u); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, u)
}

func (s *Server) handleUpdateUser(w http.ResponseWriter, r *http.Request) {
	in, err := s.readUserInput(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	tenant := principal(r.Context()).TenantID
	u, err := s.Store.User(r.Context(), tenant, r.PathValue("upn"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if in.DisplayName != "" {
		u.DisplayName = in.DisplayName
	}
	endSessions := false
	if in.Password != "" {
		if u.PasswordHash, err = password.Hash(in.Password); err != nil {
			s.writeError(w, r, err)
			return
		}
		endSessions = true
	}
	if in.Disabled != nil {
		u.Disabled = *in.Disabled
		endSessions = endSessions || u.Disabled
	}
	u.UpdatedAt = s.Engine.Now()
	if err := s.Store.UpdateUser(r.Context(), u); err != nil {
		s.writeError(w, r, err)
		return
	}
	if endSessions { // a new password or a disabled account ends every session
		if _, err := s.Store.DeleteUserSessions(r.Context(), tenant, u.UPN); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) handleDeleteUser(w http.ResponseWriter, r *http.Request) {
	tenant, upn := principal(r.Context()).TenantID, r.PathValue("upn")
	if err := s.Store.DeleteUser(r.Context(), tenant, upn); err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.Store.DeleteUserSessions(r.Context(), tenant, upn); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// CredentialInput is the body of POST /api/v1/credentials.
type CredentialInput struct {
	Name string         `json:"name"`
	Role runbooker.Role `json:"role,omitempty"` // default operator
	User string         `json:"user,omitempty"` // bind to this person (operator only)
}

// CreatedCredential answers POST /api/v1/credentials: the only time the
// secret is shown.
type CreatedCredential struct {
	*runbooker.Credential
	Secret string `json:"secret"`
}

func (s *Server) handleListCredentials(w http.ResponseWriter, r *http.Request) {
	cs, err := s.Store.ListCredentials(r.Context(), principal(r.Context()).TenantID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if cs == nil {
		cs = []*runbooker.Credential{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"credentials": cs})
}

func (s *Server) handleCreateCredential(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, 64<<10)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in CredentialInput
	if err := decodeStrict(body, &in); err != nil {
		s.writeError(w, r, runbooker.Errorf(runbooker.EINVALID, `request body must be {"name": N, "role": "operator", "user": UPN}: %s`, jsonProblem(err)))
		return
	}
	if in.Role == "" {
		in.Role = runbooker.RoleOperator
	}
	if err := runbooker.CheckCredentialInput(in.Name, in.Role, in.User); err != nil {
		s.writeError(w, r, err)
		return
	}
	secret := runbooker.NewSecret()
	c := &runbooker.Credential{ID: runbooker.NewID(), TenantID: principal(r.Context()).TenantID, Name: in.Name, Role: in.Role,
		User: in.User, SecretHash: runbooker.HashSecret(secret), CreatedAt: s.Engine.Now()}
	if err := s.Store.CreateCredential(r.Context(), c); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, CreatedCredential{Credential: c, Secret: secret})
}

func (s *Server) handleDeleteCredential(w http.ResponseWriter, r *http.Request) {
	if err := s.Store.DeleteCredential(r.Context(), principal(r.Context()).TenantID, r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// directoryKind reads a directory path's kind, plural as in the URL
// (/api/v1/directory/users) or singular.
func directoryKind(v string) (directory.Kind, error) {
	k := directory.Kind(strings.TrimSuffix(v, "s"))
	if !k.Valid() {
		return "", runbooker.Errorf(runbooker.ENOTFOUND, "the directory holds users, groups and devices, not %q", v)
	}
	return k, nil
}

// pathDirectory is the caller's directory and the kind of object the path
// names, or the error saying there is no such thing (answered).
func (s *Server) pathDirectory(w http.ResponseWriter, r *http.Request) (directory.Directory, directory.Kind, bool) {
	kind, err := directoryKind(r.PathValue("kind"))
	d := principal(r.Context()).policy.dir
	if err == nil && d == nil {
		err = runbooker.Errorf(runbooker.ENOTFOUND, "this tenant has no directory (serve --directory, or PUT /api/v1/settings/directory)")
	}
	if err != nil {
		s.writeError(w, r, err)
		return nil, "", false
	}
	return d, kind, true
}

func (s *Server) handleSearchDirectory(w http.ResponseWriter, r *http.Request) {
	d, kind, ok := s.pathDirectory(w, r)
	if !ok {
		return
	}
	var err error
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 500 {
			s.writeError(w, r, runbooker.Errorf(runbooker.EINVALID, "limit must be a whole number from 1 to 500, not %q", v))
			return
		}
	}
	objs, err := d.Search(r.Context(), kind, r.URL.Query().Get("search"), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if objs == nil {
		objs = []directory.Object{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"objects": objs})
}

func (s *Server) handleGetDirectoryObject(w http.ResponseWriter, r *http.Request) {
	d, kind, ok := s.pathDirectory(w, r)
	if !ok {
		return
	}
	obj, err := d.Lookup(r.Context(), kind, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, obj)
}

// RoleView is a portal role as GET /api/v1/roles lists it.
type RoleView struct {
	Name    string         `json:"name"`
	Rights  []access.Right `json:"rights"`
	BuiltIn bool           `json:"builtIn"`
}

// RolesView answers GET /api/v1/roles: every role with its rights (the
// built-in ones first) and who holds which.
type RolesView struct {
	Roles       []RoleView              `json:"roles"`
	Assignments []access.RoleAssignment `json:"assignments"`
}

func (s *Server) handleListRoles(w http.ResponseWriter, r *http.Request) {
	rs := principal(r.Context()).policy.roles
	v := RolesView{Roles: []RoleView{}, Assignments: rs.Assignments()}
	for _, role := range rs.All() {
		v.Roles = append(v.Roles, RoleView{Name: role.Name, Rights: role.Rights, BuiltIn: role.BuiltIn})
	}
	if v.Assignments == nil {
		v.Assignments = []access.RoleAssignment{}
	}
	writeJSON(w, http.StatusOK, v)
}
