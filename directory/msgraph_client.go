package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/runbooker/runbooker"
)

// Limits of talking to Microsoft Graph.
const (
	graphTimeout = 30 * time.Second
	// graphMaxRetryWait is the longest Retry-After honoured; a longer
	// one is answered with EUNAVAILABLE at once.
	graphMaxRetryWait = 5 * time.Second
	// graphTokenSlack renews a token this long before it expires.
	graphTokenSlack = 2 * time.Minute
	graphMaxBody    = 16 << 20
	graphScope      = "https://graph.microsoft.com/.default"
)

// graphClient makes authenticated Graph requests with an app-only token
// (client credentials), kept until shortly before it expires.
type graphClient struct {
	cfg    Config
	secret string
	http   *http.Client
	now    func() time.Time
	// wait sleeps for a Retry-After; tests replace it.
	wait func(ctx context.Context, d time.Duration) error

	mu      sync.Mutex
	token   string
	expires time.Time
}

// graphError is Graph's error body.
type graphError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// graphUnavailable is the EUNAVAILABLE of Graph, with cause kept for logs.
func graphUnavailable(what string, cause error) error {
	e := runbooker.Errorf(runbooker.EUNAVAILABLE, "directory: Microsoft Graph %s", what)
	if cause == nil {
		return e
	}
	return fmt.Errorf("%w: %w", e, cause)
}

// accessToken returns the cached token or fetches a new one.
func (g *graphClient) accessToken(ctx context.Context) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.token != "" && g.now().Before(g.expires.Add(-graphTokenSlack)) {
		return g.token, nil
	}
	form := url.Values{
		"client_id":     {g.cfg.ClientID},
		"client_secret": {g.secret},
		"scope":         {graphScope},
		"grant_type":    {"client_credentials"},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.cfg.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := g.http.Do(req)
	if err != nil {
		return "", graphUnavailable("sign-in endpoint cannot be reached", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, graphMaxBody))
	if err != nil {
		return "", graphUnavailable("sign-in endpoint did not answer completely", err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(body, &tok)
	if resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		if tok.Error != "" {
			// The description starts with an AADSTS code that tells an
			// administrator what is wrong (bad secret, unknown app);
			// it names no secret.
			desc, _, _ := strings.Cut(tok.Description, "\r\n")
			return "", graphUnavailable(fmt.Sprintf("refused the app's credentials: %s: %s", tok.Error, desc), nil)
		}
		return "", graphUnavailable(fmt.Sprintf("sign-in endpoint answered %s", resp.Status), nil)
	}
	g.token = tok.AccessToken
	g.expires = g.now().Add(time.Duration(tok.ExpiresIn) * time.Second)
	return g.token, nil
}

// get fetches a Graph resource (a path below graphURL, or an absolute
// nextLink on the same host) into out. 404 is notFoundErr. A refused
// token is renewed once; throttling and server errors are retried once
// when Retry-After asks for a short wait. What still fails is EUNAVAILABLE.
func (g *graphClient) get(ctx context.Context, ref string, notFoundErr error, out any) error {
	target, err := g.resolve(ref)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		token, err := g.accessToken(ctx)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "application/json")
		resp, err := g.http.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return graphUnavailable("cannot be reached", err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, graphMaxBody))
		resp.Body.Close()
		if err != nil {
			return graphUnavailable("did not answer completely", err)
		}
		switch code := resp.StatusCode; {
		case code == http.StatusOK:
			if err := json.Unmarshal(body, out); err != nil {
				return graphUnavailable("answered with JSON this client does not understand", err)
			}
			return nil
		case code == http.StatusNotFound:
			return notFoundErr
		case code == http.StatusUnauthorized:
			// The token may have been revoked before it expired: forget
			// it (unless another call already has a new one) and try once
			// more with a new one.
			g.mu.Lock()
			if g.token == token {
				g.token = ""
			}
			g.mu.Unlock()
			if attempt == 0 {
				continue
			}
			return graphUnavailable("refused the app's token"+graphErrorText(body), nil)
		case code == http.StatusForbidden:
			return graphUnavailable("denied access"+graphErrorText(body)+"; the app needs the User.Read.All, Group.Read.All and Device.Read.All application permissions", nil)
		case code == http.StatusTooManyRequests || code >= 500:
			if wait, ok := retryAfter(resp.Header.Get("Retry-After")); ok && attempt == 0 {
				if err := g.wait(ctx, wait); err != nil {
					return err
				}
				continue
			}
			return graphUnavailable(fmt.Sprintf("is busy or failing (%s); try again later", resp.Status), nil)
		default:
			return fmt.Errorf("directory: Microsoft Graph answered %s%s", resp.Status, graphErrorText(body))
		}
	}
}

// resolve turns a relative reference into a URL below graphURL and checks
// that an absolute one (a nextLink) stays on Graph's host, so that the
// token is never sent elsewhere.
func (g *graphClient) resolve(ref string) (string, error) {
	if !strings.HasPrefix(ref, "https://") && !strings.HasPrefix(ref, "http://") {
		return g.cfg.GraphURL + ref, nil
	}
	base, err1 := url.Parse(g.cfg.GraphURL)
	u, err2 := url.Parse(ref)
	if err1 != nil || err2 != nil || u.Scheme != base.Scheme || u.Host != base.Host {
		return "", graphUnavailable(fmt.Sprintf("sent a next page link to another host (%.100q)", ref), nil)
	}
	return ref, nil
}

// graphErrorText is ": code: message" of an error body, or "".
func graphErrorText(body []byte) string {
	var ge graphError
	if json.Unmarshal(body, &ge) != nil || ge.Error.Code == "" {
		return ""
	}
	return fmt.Sprintf(": %s: %.200s", ge.Error.Code, ge.Error.Message)
}

// retryAfter reads a Retry-After header in seconds or as a date, and
// reports whether it asks for a wait short enough to honour.
func retryAfter(h string) (time.Duration, bool) {
	if h == "" {
		return 0, false
	}
	var d time.Duration
	if s, err := strconv.Atoi(h); err == nil {
		d = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = time.Until(t)
	} else {
		return 0, false
	}
	if d < 0 {
		d = 0
	}
	return d, d <= graphMaxRetryWait
}

// isNotFound reports whether err is an ENOTFOUND.
func isNotFound(err error) bool {
	var e *runbooker.Error
	return errors.As(err, &e) && e.Code == runbooker.ENOTFOUND
}
