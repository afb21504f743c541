package agent

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/runbooker/runbooker"
)

// AssetSource reads and writes assets on behalf of a running job.
type AssetSource interface {
	Asset(ctx context.Context, j *runbooker.Job, t runbooker.AssetType, name string) (json.RawMessage, bool, error)
	SetVariable(ctx context.Context, j *runbooker.Job, name string, value json.RawMessage) error
}

// Channel is the per-job local asset channel: a loopback HTTP endpoint that
// a runbook's Get-AutomationVariable, automationassets or automation-asset
// call, authenticated by a token that exists only while its job runs.
// Secret values a job reads are remembered for masking its output.
type Channel struct {
	src AssetSource
	log *slog.Logger
	ln  net.Listener
	srv *http.Server

	mu   sync.Mutex
	jobs map[string]*channelJob // by token hash
}

type channelJob struct {
	job     *runbooker.Job
	secrets []string
}

// Environment variables a runbook finds the channel through.
const (
	EnvAssetURL   = "RB_ASSET_URL"
	EnvAssetToken = "RB_ASSET_TOKEN"
)

// OpenChannel starts the channel on a random loopback port.
func OpenChannel(src AssetSource, log *slog.Logger) (*Channel, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &Channel{src: src, log: log, ln: ln, jobs: map[string]*channelJob{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /assets/{type}/{name}", c.handleGet)
	mux.HandleFunc("PUT /assets/variable/{name}", c.handleSet)
	c.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second}
	go func() { _ = c.srv.Serve(ln) }()
	return c, nil
}

// URL is the channel's base address.
func (c *Channel) URL() string { return "http://" + c.ln.Addr().String() }

// Close stops the channel.
func (c *Channel) Close() error { return c.srv.Close() }

// Open registers a job and returns the environment its process needs and
// a func that revokes the token when the job ends.
func (c *Channel) Open(j *runbooker.Job) (env map[string]string, revoke func()) {
	token := runbooker.NewSecret()
	key := runbooker.HashSecret(token)
	c.mu.Lock()
	c.jobs[key] = &channelJob{job: j}
	c.mu.Unlock()
	return map[string]string{EnvAssetURL: c.URL(), EnvAssetToken: token}, func() {
		c.mu.Lock()
		delete(c.jobs, key)
		c.mu.Unlock()
	}
}

// Secrets returns the secret values job id has read so far.
func (c *Channel) Secrets(jobID string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cj := range c.jobs {
		if cj.job.ID == jobID {
			return append([]string(nil), cj.secrets...)
		}
	}
	return nil
}

func (c *Channel) lookup(r *http.Request) *channelJob {
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || token == "" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.jobs[runbooker.HashSecret(token)]
}

func channelError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func (c *Channel) fail(w http.ResponseWriter, err error) {
	status := map[string]int{runbooker.ENOTFOUND: 404, runbooker.EINVALID: 400, runbooker.ECONFLICT: 409,
		runbooker.EUNAUTHORIZED: 401, runbooker.EFORBIDDEN: 403}[runbooker.ErrorCode(err)]
	if status == 0 {
		status = 502
	}
	channelError(w, status, runbooker.ErrorMessage(err))
}

func (c *Channel) handleGet(w http.ResponseWriter, r *http.Request) {
	cj := c.lookup(r)
	if cj == nil {
		channelError(w, http.StatusUnauthorized, "invalid or expired job token")
		return
	}
	t := runbooker.AssetType(r.PathValue("type"))
	v, secret, err := c.src.Asset(r.Context(), cj.job, t, r.PathValue("name"))
	if err != nil {
		c.fail(w, err)
		return
	}
	if secret {
		c.remember(cj, v)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(v)
}

// remember records every string inside a secret value for masking.
func (c *Channel) remember(cj *channelJob, v json.RawMessage) {
	var doc any
	if json.Unmarshal(v, &doc) != nil {
		return
	}
	var walk func(any)
	var found []string
	walk = func(x any) {
		switch t := x.(type) {
		case string:
			if len(t) >= 3 { // masking a one-letter value would shred the output
				found = append(found, t)
			}
		case map[string]any:
			for k, e := range t {
				if strings.EqualFold(k, "userName") || strings.EqualFold(k, "type") {
					continue // identities are not secrets
				}
				walk(e)
			}
		case []any:
			for _, e := range t {
				walk(e)
			}
		}
	}
	walk(doc)
	c.mu.Lock()
	cj.secrets = append(cj.secrets, found...)
	c.mu.Unlock()
}

func (c *Channel) handleSet(w http.ResponseWriter, r *http.Request) {
	cj := c.lookup(r)
	if cj == nil {
		channelError(w, http.StatusUnauthorized, "invalid or expired job token")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		channelError(w, http.StatusBadRequest, "value too large")
		return
	}
	if !json.Valid(body) {
		channelError(w, http.StatusBadRequest, "the value must be JSON")
		return
	}
	if err := c.src.SetVariable(r.Context(), cj.job, r.PathValue("name"), body); err != nil {
		c.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
