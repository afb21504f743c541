package http

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/access"
	"github.com/runbooker/runbooker/catalog"
)

// RunbookView is a runbook as the management API shows it: identity,
// parsed metadata flattened, and the form after customization.
type RunbookView struct {
	Name             string                 `json:"name"`
	DisplayName      string                 `json:"displayName"`
	Scope            string                 `json:"scope"`
	Category         string                 `json:"category"`
	Language         runbooker.Language     `json:"language"`
	Version          string                 `json:"version"`
	Synopsis         string                 `json:"synopsis"`
	Description      string                 `json:"description"`
	Notes            string                 `json:"notes,omitempty"`
	RequiredModules  []runbooker.Module     `json:"requiredModules"`
	Parameters       []runbooker.Parameter  `json:"parameters"`
	ContextParameter string                 `json:"contextParameter,omitempty"`
	Scheduled        bool                   `json:"scheduled"`
	Hybrid           bool                   `json:"hybrid"`
	DefaultGroup     string                 `json:"defaultGroup,omitempty"`
	LogVerbose       bool                   `json:"logVerbose"`
	SourceID         string                 `json:"sourceId,omitempty"`
	SourceCommit     string                 `json:"sourceCommit,omitempty"`
	ParseError       *runbooker.ParseError  `json:"parseError,omitempty"`
	Warnings         []runbooker.ParseError `json:"warnings,omitempty"`
	// WorkerWarning says why no online worker of the runbook's default
	// group can run it now (none online, or none with an interpreter for
	// its language); jobs wait until one can.
	WorkerWarning string    `json:"workerWarning,omitempty"`
	Form          any       `json:"form,omitempty"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

func runbookView(rb *runbooker.Runbook) RunbookView {
	m := rb.Meta
	params := m.Parameters
	if params == nil {
		params = []runbooker.Parameter{}
	}
	mods := m.RequiredModules
	if mods == nil {
		mods = []runbooker.Module{}
	}
	return RunbookView{
		Name: rb.Name, DisplayName: m.DisplayName, Scope: rb.Scope, Category: rb.Category,
		Language: rb.Language, Version: rb.Version, Synopsis: m.Synopsis, Description: m.Description,
		Notes: m.Notes, RequiredModules: mods, Parameters: params, ContextParameter: m.ContextParameter,
		Scheduled: m.Scheduled, Hybrid: m.Hybrid, DefaultGroup: rb.DefaultGroup, SourceID: rb.SourceID,
		LogVerbose: rb.LogVerbose, SourceCommit: m.SourceCommit, ParseError: m.ParseError, Warnings: m.Warnings,
		CreatedAt: rb.CreatedAt, UpdatedAt: rb.UpdatedAt,
	}
}

func (s *Server) routeRunbooks(mux *routeMux) {
	mux.HandleFunc("GET /api/v1/runbooks", s.authenticate(access.CanSeeRunbooks, s.handleListRunbooks))
	mux.HandleFunc("GET /api/v1/runbooks/{name}", s.authenticate(access.CanSeeRunbooks, s.handleGetRunbook))
	mux.HandleFunc("GET /api/v1/runbooks/{name}/source", s.authenticate(access.CanReadRunbookDetails, s.handleGetRunbookSource))
	mux.HandleFunc("PUT /api/v1/runbooks/{name}", s.authenticate(access.Admin, s.audited("runbook.put", s.handlePutRunbook)))
	mux.HandleFunc("DELETE /api/v1/runbooks/{name}", s.authenticate(access.Admin, s.audited("runbook.delete", s.handleDeleteRunbook)))
	mux.HandleFunc("POST /api/v1/runbooks/{name}/form-preview", s.authenticate(access.Admin, s.handleFormPreview))
	mux.HandleFunc("GET /api/v1/settings/{key}", s.authenticate(access.Admin, s.handleGetSetting))
	mux.HandleFunc("PUT /api/v1/settings/{key}", s.authenticate(access.Admin, s.audited("setting.put", s.handlePutSetting)))
}

func (s *Server) handleListRunbooks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c := principal(r.Context())
	rbs, err := s.Store.ListRunbooks(r.Context(), c.TenantID, runbooker.RunbookFilter{
		Scope: q.Get("scope"), Category: q.Get("category"), Search: q.Get("search"), Prefix: q.Get("prefix"),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// Each runbook the caller may see, with its form (unless ?forms=false),
	// so whoever may run it knows what to send.
	var custom []byte
	forms := q.Get("forms") != "false"
	if forms {
		if custom, err = s.setting(r.Context(), c.TenantID, SettingCustomization); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	out := make([]RunbookView, 0, len(rbs))
	check := s.Engine.NewLanguageCheck(c.TenantID)
	for _, rb := range rbs {
		if !c.decide(access.See, rb.Name, nil).Allow {
			continue
		}
		v := runbookView(rb)
		v.WorkerWarning = check.Warning(r.Context(), rb)
		if forms {
			form, warnings := catalog.BuildForm(rb.Meta, rb.Name, custom)
			v.Form, v.Warnings = form, append(v.Warnings, warnings...)
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"runbooks": out})
}

func (s *Server) handleGetRunbook(w http.ResponseWriter, r *http.Request) {
	tenant := principal(r.Context()).TenantID
	rb, ok := s.visibleRunbook(w, r)
	if !ok {
		return
	}
	v := runbookView(rb)
	v.WorkerWarning = s.Engine.NewLanguageCheck(tenant).Warning(r.Context(), rb)
	custom, err := s.Store.Setting(r.Context(), tenant, SettingCustomization)
	if err != nil && runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
		s.writeError(w, r, err)
		return
	}
	form, warnings := catalog.BuildForm(rb.Meta, rb.Name, custom)
	v.Form = form
	v.Warnings = append(v.Warnings, warnings...)
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) handleGetRunbookSource(w http.ResponseWriter, r *http.Request) {
	tenant := principal(r.Context()).TenantID
	rb, ok := s.visibleRunbook(w, r)
	if !ok {
		return
	}
	version := r.URL.Query().Get("version")
	if version == "" {
		version = rb.Version
	}
	src, err := s.Store.RunbookContent(r.Context(), tenant, version)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("X-Runbook-Version", version)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(src)
}

func (s *Server) handlePutRunbook(w http.ResponseWriter, r *http.Request) {
	tenant := principal(r.Context()).TenantID
	name := r.PathValue("name")
	q := r.URL.Query()
	lang := runbooker.Language(q.Get("language"))
	if !lang.Valid() {
		s.writeError(w, r, runbooker.Errorf(runbooker.EINVALID, "query parameter language must be bash, python or powershell (got %q)", q.Get("language")))
		return
	}
	var verbose *bool
	if v := q.Get("logVerbose"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			s.writeError(w, r, runbooker.Errorf(runbooker.EINVALID, "query parameter logVerbose must be true or false (got %q)", v))
			return
		}
		verbose = &b
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, catalog.MaxScriptSize))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		err = catalog.CheckScriptSize(name, tooLarge.Limit+1)
	} else if err != nil {
		err = runbooker.Errorf(runbooker.EINVALID, "reading the request body: %v", err)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rb, res, err := catalog.Put(r.Context(), s.Store, catalog.PutInput{
		TenantID: tenant, Name: name, Language: lang, Content: body, DefaultGroup: q.Get("defaultGroup"),
		LogVerbose: verbose,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
	}
	v := runbookView(rb)
	v.WorkerWarning = s.Engine.NewLanguageCheck(tenant).Warning(r.Context(), rb)
	writeJSON(w, status, v)
}

func (s *Server) handleDeleteRunbook(w http.ResponseWriter, r *http.Request) {
	if err := s.Store.DeleteRunbook(r.Context(), principal(r.Context()).TenantID, r.PathValue("name")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// FormPreview answers POST /api/v1/runbooks/{name}/form-preview: the form a
// customization document (the body, not stored) would give the runbook.
type FormPreview struct {
	Form     catalog.Form           `json:"form"`
	Warnings []runbooker.ParseError `json:"warnings,omitempty"`
}

// handleFormPreview lets an administrator see a customization's effect
// before saving it; a document that does not parse is refused with the
// same message a PUT of it gets.
func (s *Server) handleFormPreview(w http.ResponseWriter, r *http.Request) {
	rb, ok := s.visibleRunbook(w, r)
	if !ok {
		return
	}
	body, err := readBody(w, r, maxSettingBody)
	if err == nil && len(bytes.TrimSpace(body)) > 0 {
		if err = knownSettings[SettingCustomization](body); err != nil {
			err = runbooker.Errorf(runbooker.EINVALID, "%s: %s", SettingCustomization, strings.TrimPrefix(problemText(err), SettingCustomization+": "))
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	form, warnings := catalog.BuildForm(rb.Meta, rb.Name, body)
	writeJSON(w, http.StatusOK, FormPreview{Form: form, Warnings: warnings})
}
