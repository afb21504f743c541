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
	"github.com/runbooker/runbooker/sandbox"
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

	mu     sync.Mutex
	jobs   map[string]*channelJob // by token hash
	idents map[string]*channelJob // by identity header hash (identity.go)
}

type channelJob struct {
	job     *runbooker.Job
	pid     int           // the job's first process once started; 0 before
	started chan struct{} // closed when pid is set
	secrets []string
	// ident and identKey are set when the job has a managed identity.
	ident    *runbooker.JobIdentity
	identKey string
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
	c := &Channel{src: src, log: log, ln: ln, jobs: map[string]*channelJob{}, idents: map[string]*channelJob{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /assets/{type}/{name}", c.handleGet)
	mux.HandleFunc("PUT /assets/variable/{name}", c.handleSet)
	mux.HandleFunc(identityPath, c.handleIdentity) // GET and POST
	c.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second}
	go func() { _ = c.srv.Serve(ln) }()
	return c, nil
}

// URL is the channel's base address.
func (c *Channel) URL() string { return "http://" + c.ln.Addr().String() }

// Close stops the channel.
func (c *Channel) Close() error { return c.srv.Close() }

// Open registers a job. It returns the environment its process needs, a
// func to call with the process id of the job's first process once it
// started (from then on only that job's processes may use the token, where
// the sandbox gives jobs PID namespaces of their own), and a func that
// revokes the token when the job ends. A job with a managed identity (id
// not nil) also gets the identity endpoint, bound and revoked the same way.
func (c *Channel) Open(j *runbooker.Job, id *runbooker.JobIdentity) (env map[string]string, bind func(pid int), revoke func()) {
	token := runbooker.NewSecret()
	key := runbooker.HashSecret(token)
	cj := &channelJob{job: j, ident: id, started: make(chan struct{})}
	c.mu.Lock()
	c.jobs[key] = cj
	c.mu.Unlock()
	env = map[string]string{EnvAssetURL: c.URL(), EnvAssetToken: token}
	if id != nil {
		for k, v := range c.openIdentity(cj, id) {
			env[k] = v
		}
	}
	return env, func(pid int) {
			c.mu.Lock()
			if cj.pid <= 0 {
				close(cj.started)
			}
			cj.pid = pid
			c.mu.Unlock()
		}, func() {
			c.mu.Lock()
			delete(c.jobs, key)
			delete(c.idents, cj.identKey)
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

// lookup finds the job a request's token belongs to, and checks that the
// request comes from that job's own processes.
func (c *Channel) lookup(r *http.Request) (*channelJob, string) {
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || token == "" {
		return nil, "invalid or expired job token"
	}
	c.mu.Lock()
	cj := c.jobs[runbooker.HashSecret(token)]
	c.mu.Unlock()
	if cj == nil {
		return nil, "invalid or expired job token"
	}
	if why := c.bound(r, cj); why != "" {
		return nil, why
	}
	return cj, ""
}

// bindWait bounds how long a request waits for its job's pid.
var bindWait = 10 * time.Second

// bound checks that a request comes from the job's own processes.
func (c *Channel) bound(r *http.Request, cj *channelJob) string {
	// The job's process runs a moment before the sandbox reports its pid
	// (it is still being put in its cgroup): a request from it that early
	// waits for the pid rather than fail.
	select {
	case <-cj.started:
	case <-time.After(bindWait):
	case <-r.Context().Done():
	}
	c.mu.Lock()
	pid := cj.pid
	c.mu.Unlock()
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	remote, err := net.ResolveTCPAddr("tcp", r.RemoteAddr)
	if pid <= 0 || local == nil || err != nil {
		return "this job token is not usable before its job started"
	}
	if ok, err := sandbox.PeerInJob(local, remote, pid); !ok {
		c.log.Warn("channel request with a job's token from outside that job refused", "job", cj.job.ID, "from", r.RemoteAddr, "err", err)
		return "this job token belongs to another job's processes"
	}
	return ""
}

// jsonType is the channel's content type: Windows PowerShell 5.1 reads
// JSON without a charset as ISO-8859-1.
const jsonType = "application/json; charset=utf-8"

func channelError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", jsonType)
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
	cj, why := c.lookup(r)
	if cj == nil {
		channelError(w, http.StatusUnauthorized, why)
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
	w.Header().Set("Content-Type", jsonType)
	_, _ = w.Write(v)
}

// remember records every string inside a secret value for masking (the
// sandbox masks them, and warns about those too short to mask).
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
			if t != "" {
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
	cj, why := c.lookup(r)
	if cj == nil {
		channelError(w, http.StatusUnauthorized, why)
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
