package http

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/gitsync"
)

// Client is the typed client of Runbooker's APIs, used by the CLI, the
// worker and the tests. Failed calls return a *runbooker.Error whose code is
// derived from the HTTP status, so callers branch with runbooker.ErrorCode.
type Client struct {
	BaseURL string
	ID      string
	Secret  string
	HTTP    *http.Client
	// Agent, when set, is sent as ClientHeader so the audit log can name
	// the surface (the runbooker CLI sends "cli").
	Agent string
	// Warn, when set, is given the WarningHeader of every answer that has
	// one, with the path of the call.
	Warn func(path, warning string)
}

// NewClient returns a client for server authenticating with a credential in
// "ID:SECRET" form (empty for unauthenticated calls).
func NewClient(server, credential string, tlsCfg *tls.Config) (*Client, error) {
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server %q must be an http:// or https:// URL", server)
	}
	c := &Client{BaseURL: strings.TrimRight(server, "/")}
	if credential != "" {
		id, secret, ok := strings.Cut(credential, ":")
		if !ok || id == "" || secret == "" {
			return nil, fmt.Errorf("credential must have the form ID:SECRET")
		}
		c.ID, c.Secret = id, secret
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	tr.MaxIdleConnsPerHost = 64
	tr.ResponseHeaderTimeout = 0 // long polls and synchronous runs hold the response back on purpose
	// Per-call deadlines come from contexts; this bounds a call nobody bounded.
	c.HTTP = &http.Client{Transport: tr, Timeout: 30 * time.Minute}
	return c, nil
}

// statusCode is the inverse of errorStatus.
func statusCode(status int) string {
	for code, st := range errorStatus {
		if st == status {
			return code
		}
	}
	return runbooker.EINTERNAL
}

// do sends a request and decodes a JSON answer into out (when non-nil and
// the body is JSON) or returns the raw body.
func (c *Client) do(ctx context.Context, method, path string, body io.Reader, contentType string, out any) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return nil, 0, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.ID != "" {
		req.SetBasicAuth(c.ID, c.Secret)
	}
	if c.Agent != "" {
		req.Header.Set(ClientHeader, c.Agent)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, 0, runbooker.Errorf(runbooker.EUNAVAILABLE, "cannot reach %s: %v", c.BaseURL, err)
	}
	defer resp.Body.Close()
	if h := resp.Header.Get(WarningHeader); h != "" && c.Warn != nil {
		c.Warn(path, h)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, resp.StatusCode, runbooker.Errorf(runbooker.EUNAVAILABLE, "reading answer from %s: %v", c.BaseURL, err)
	}
	if resp.StatusCode >= 400 {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return data, resp.StatusCode, runbooker.Errorf(statusCode(resp.StatusCode), "%s", msg)
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return data, resp.StatusCode, fmt.Errorf("decoding answer of %s %s: %w", method, path, err)
		}
	}
	return data, resp.StatusCode, nil
}

func (c *Client) doJSON(ctx context.Context, method, path string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	_, st, err := c.do(ctx, method, path, body, "application/json", out)
	return st, err
}

func runPath(name, verb, runOn string) string {
	p := "/runbook/" + url.PathEscape(name) + "/" + verb
	if runOn != "" {
		p += "?runOn=" + url.QueryEscape(runOn)
	}
	return p
}

// Run runs a runbook synchronously. A 202 (the server's wait limit passed)
// is not an error: the response then carries no streams and a non-terminal status.
func (c *Client) Run(ctx context.Context, name string, params map[string]any, runOn string) (*RunResponse, error) {
	var out RunResponse
	_, err := c.doJSON(ctx, http.MethodPost, runPath(name, "run", runOn), params, &out)
	return &out, err
}

// Start queues a runbook job and returns at once.
func (c *Client) Start(ctx context.Context, name string, params map[string]any, runOn string) (*RunResponse, error) {
	var out RunResponse
	_, err := c.doJSON(ctx, http.MethodPost, runPath(name, "start", runOn), params, &out)
	return &out, err
}

func (c *Client) text(ctx context.Context, path string) (string, error) {
	b, _, err := c.do(ctx, http.MethodGet, path, nil, "", nil)
	return string(b), err
}

// JobStatus returns a job's status string.
func (c *Client) JobStatus(ctx context.Context, id string) (string, error) {
	return c.text(ctx, "/runbook/jobs/"+url.PathEscape(id)+"/status")
}

// OutputText returns the Output stream as text, one record per line.
func (c *Client) OutputText(ctx context.Context, id string) (string, error) {
	return c.text(ctx, "/runbook/jobs/"+url.PathEscape(id)+"/output/text")
}

// ExceptionText returns the job's exception message.
func (c *Client) ExceptionText(ctx context.Context, id string) (string, error) {
	return c.text(ctx, "/runbook/jobs/"+url.PathEscape(id)+"/exception/text")
}

// OutputStreams returns the job's records, optionally of some types only.
func (c *Client) OutputStreams(ctx context.Context, id string, types ...string) ([]ExternalRecord, error) {
	p := "/runbook/jobs/" + url.PathEscape(id) + "/output/streams"
	if len(types) > 0 {
		p += "?streamTypes=" + url.QueryEscape(strings.Join(types, ","))
	}
	var out []ExternalRecord
	_, err := c.doJSON(ctx, http.MethodGet, p, nil, &out)
	return out, err
}

// PutRunbook uploads a runbook's source.
func (c *Client) PutRunbook(ctx context.Context, name string, lang runbooker.Language, content []byte) (*RunbookView, error) {
	var out RunbookView
	_, _, err := c.do(ctx, http.MethodPut, "/api/v1/runbooks/"+url.PathEscape(name)+"?language="+url.QueryEscape(string(lang)),
		bytes.NewReader(content), "text/plain", &out)
	return &out, err
}

// Runbook returns a runbook with its metadata and form.
func (c *Client) Runbook(ctx context.Context, name string) (*RunbookView, error) {
	var out RunbookView
	_, err := c.doJSON(ctx, http.MethodGet, "/api/v1/runbooks/"+url.PathEscape(name), nil, &out)
	return &out, err
}

// Runbooks lists runbooks matching the filter.
func (c *Client) Runbooks(ctx context.Context, f runbooker.RunbookFilter) ([]RunbookView, error) {
	q := url.Values{}
	for k, v := range map[string]string{"scope": f.Scope, "category": f.Category, "search": f.Search, "prefix": f.Prefix} {
		if v != "" {
			q.Set(k, v)
		}
	}
	q.Set("forms", "false") // the CLI lists names; GET one runbook for its form
	var out struct {
		Runbooks []RunbookView `json:"runbooks"`
	}
	_, err := c.doJSON(ctx, http.MethodGet, "/api/v1/runbooks?"+q.Encode(), nil, &out)
	return out.Runbooks, err
}

// DeleteRunbook removes a runbook.
func (c *Client) DeleteRunbook(ctx context.Context, name string) error {
	_, err := c.doJSON(ctx, http.MethodDelete, "/api/v1/runbooks/"+url.PathEscape(name), nil, nil)
	return err
}

// Job returns a job.
func (c *Client) Job(ctx context.Context, id string) (*runbooker.Job, error) {
	var out runbooker.Job
	_, err := c.doJSON(ctx, http.MethodGet, "/api/v1/jobs/"+url.PathEscape(id), nil, &out)
	return &out, err
}

// Jobs lists jobs, newest first, one page at a time.
func (c *Client) Jobs(ctx context.Context, q url.Values) (*runbooker.JobPage, error) {
	var out runbooker.JobPage
	_, err := c.doJSON(ctx, http.MethodGet, "/api/v1/jobs?"+q.Encode(), nil, &out)
	return &out, err
}

// StopJob asks for a job to stop.
func (c *Client) StopJob(ctx context.Context, id string) (*runbooker.Job, error) {
	var out runbooker.Job
	_, err := c.doJSON(ctx, http.MethodPost, "/api/v1/jobs/"+url.PathEscape(id)+"/stop", nil, &out)
	return &out, err
}

// ResumeJob re-queues a Suspended job.
func (c *Client) ResumeJob(ctx context.Context, id string) (*runbooker.Job, error) {
	var out runbooker.Job
	_, err := c.doJSON(ctx, http.MethodPost, "/api/v1/jobs/"+url.PathEscape(id)+"/resume", nil, &out)
	return &out, err
}

// JobStreams returns the job's status and its records after seq.
func (c *Client) JobStreams(ctx context.Context, id string, after int64) (runbooker.JobStatus, []runbooker.StreamRecord, error) {
	var out struct {
		JobStatus runbooker.JobStatus      `json:"jobStatus"`
		Records   []runbooker.StreamRecord `json:"records"`
	}
	_, err := c.doJSON(ctx, http.MethodGet, fmt.Sprintf("/api/v1/jobs/%s/streams?after=%d", url.PathEscape(id), after), nil, &out)
	return out.JobStatus, out.Records, err
}

// PutSetting stores a tenant settings document (customization, permissions).
func (c *Client) PutSetting(ctx context.Context, key string, doc []byte) error {
	_, _, err := c.do(ctx, http.MethodPut, "/api/v1/settings/"+url.PathEscape(key), bytes.NewReader(doc), "application/json", nil)
	return err
}

// Sync syncs one upstream source, or every source of the tenant when
// source is empty, and returns the reports.
func (c *Client) Sync(ctx context.Context, source string) ([]*gitsync.Report, error) {
	return c.SyncWith(ctx, SyncRequest{Source: source})
}

// SyncWith is Sync with the request's options (Adopt).
func (c *Client) SyncWith(ctx context.Context, req SyncRequest) ([]*gitsync.Report, error) {
	var out SyncResponse
	_, err := c.doJSON(ctx, http.MethodPost, "/api/v1/sync", req, &out)
	return out.Reports, err
}

// SyncSources lists the tenant's upstream sync sources (without secrets).
func (c *Client) SyncSources(ctx context.Context) ([]gitsync.SourceView, error) {
	var out SyncSourcesResponse
	_, err := c.doJSON(ctx, http.MethodGet, "/api/v1/sync/sources", nil, &out)
	return out.Sources, err
}

// SyncSource returns one sync source.
func (c *Client) SyncSource(ctx context.Context, id string) (*gitsync.SourceView, error) {
	var out gitsync.SourceView
	_, err := c.doJSON(ctx, http.MethodGet, "/api/v1/sync/sources/"+url.PathEscape(id), nil, &out)
	return &out, err
}

// CreateSyncSource adds a sync source; ECONFLICT when the id exists.
func (c *Client) CreateSyncSource(ctx context.Context, in gitsync.SourceInput) (*gitsync.SourceView, error) {
	var out gitsync.SourceView
	_, err := c.doJSON(ctx, http.MethodPost, "/api/v1/sync/sources", in, &out)
	return &out, err
}

// PutSyncSource creates or replaces the sync source in.ID.
func (c *Client) PutSyncSource(ctx context.Context, in gitsync.SourceInput) (*gitsync.SourceView, error) {
	var out gitsync.SourceView
	_, err := c.doJSON(ctx, http.MethodPut, "/api/v1/sync/sources/"+url.PathEscape(in.ID), in, &out)
	return &out, err
}

// DeleteSyncSource removes a sync source and, unless keepRunbooks, the
// runbooks it synced, whose names it returns.
func (c *Client) DeleteSyncSource(ctx context.Context, id string, keepRunbooks bool) ([]string, error) {
	var out DeleteSyncSourceResponse
	_, err := c.doJSON(ctx, http.MethodDelete, fmt.Sprintf("/api/v1/sync/sources/%s?keepRunbooks=%t", url.PathEscape(id), keepRunbooks), nil, &out)
	return out.Removed, err
}
