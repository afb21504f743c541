package agent

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
)

// tokenSource is an asset and identity source that issues one token.
type tokenSource struct {
	asked []runbooker.IdentityRequest
	err   error
}

func (s *tokenSource) Asset(context.Context, *runbooker.Job, runbooker.AssetType, string) (json.RawMessage, bool, error) {
	return nil, false, runbooker.Errorf(runbooker.ENOTFOUND, "none")
}

func (s *tokenSource) SetVariable(context.Context, *runbooker.Job, string, json.RawMessage) error {
	return nil
}

func (s *tokenSource) IdentityToken(_ context.Context, j *runbooker.Job, req runbooker.IdentityRequest) (*runbooker.IdentityToken, error) {
	s.asked = append(s.asked, req)
	if s.err != nil {
		return nil, s.err
	}
	return &runbooker.IdentityToken{AccessToken: "eyJ-token-of-" + j.ID, ExpiresOn: time.Unix(1900000000, 0), Resource: req.Resource,
		TokenType: "Bearer", ClientID: "app-1"}, nil
}

func TestIdentityEndpoint(t *testing.T) {
	src := &tokenSource{}
	ch, err := OpenChannel(src, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()

	// Without an identity the job gets none of the variables.
	env, _, revoke := ch.Open(&runbooker.Job{ID: "plain"}, nil)
	if _, ok := env[EnvIdentityEndpoint]; ok {
		t.Errorf("job without identity: %v", env)
	}
	revoke()

	j := &runbooker.Job{ID: "job-1"}
	env, bind, revoke := ch.Open(j, &runbooker.JobIdentity{AccountID: "acct-1", ClientID: "app-1"})
	if env[EnvAccountID] != "acct-1" || env[EnvIdentityHeader] == "" || env[EnvIdentityHeader] == env[EnvAssetToken] {
		t.Fatalf("identity env: %v", env)
	}
	get := func(query string, header map[string]string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("GET", env[EnvIdentityEndpoint]+query, nil)
		for k, v := range header {
			req.Header[k] = []string{v} // as sent, not canonicalised
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var doc map[string]any
		_ = json.Unmarshal(b, &doc)
		return resp.StatusCode, doc
	}
	q := "?resource=https://graph.microsoft.com&api-version=2019-08-01"
	hdr := map[string]string{"x-identity-header": env[EnvIdentityHeader]}
	defer func(d time.Duration) { bindWait = d }(bindWait)
	bindWait = 50 * time.Millisecond // a job that has not started yet is refused once the wait for its pid is over
	if st, doc := get(q, hdr); st != 401 || doc["message"] == nil {
		t.Errorf("before the job started: %d %v", st, doc) // bound to the job's processes once they run
	}
	bind(os.Getpid()) // this process stands in for the job's first process
	if st, doc := get(q, nil); st != 401 || doc["statusCode"] != float64(401) || doc["error"] != "invalid_request" {
		t.Errorf("without the header: %d %v", st, doc)
	}
	if st, _ := get(q, map[string]string{"X-IDENTITY-HEADER": env[EnvAssetToken]}); st != 401 {
		t.Errorf("the asset token as identity header: %d", st)
	}
	// RealmJoin.RunbookHelper's probe: no api-version, a Metadata header.
	if st, doc := get("?resource=https://graph.microsoft.com/", map[string]string{"X-IDENTITY-HEADER": env[EnvIdentityHeader], "Metadata": "True"}); st != 200 || doc["resource"] != "https://graph.microsoft.com/" {
		t.Errorf("without api-version: %d %v", st, doc)
	}
	// Azure Automation's documented POST of a form.
	req, _ := http.NewRequest("POST", env[EnvIdentityEndpoint], strings.NewReader("resource=https%3A%2F%2Fmanagement.azure.com%2F"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-IDENTITY-HEADER", env[EnvIdentityHeader])
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("POST: %v %v", err, resp)
	} else {
		resp.Body.Close()
		if last := src.asked[len(src.asked)-1]; last.Resource != "https://management.azure.com/" {
			t.Errorf("POST asked %+v", last)
		}
	}
	req, _ = http.NewRequest("DELETE", env[EnvIdentityEndpoint], nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 405 {
		t.Errorf("DELETE: %v %v", err, resp)
	} else {
		resp.Body.Close()
	}
	if st, _ := get(q+"&mi_res_id=/subscriptions/x", hdr); st != 400 {
		t.Errorf("a user-assigned identity: %d", st)
	}
	st, doc := get(q+"&client_id=app-1", hdr)
	if st != 200 || doc["access_token"] != "eyJ-token-of-job-1" || doc["expires_on"] != strconv.Itoa(1900000000) ||
		doc["resource"] != "https://graph.microsoft.com" || doc["token_type"] != "Bearer" || doc["client_id"] != "app-1" {
		t.Errorf("token: %d %v", st, doc)
	}
	if last := src.asked[len(src.asked)-1]; last.ClientID != "app-1" || last.Resource != "https://graph.microsoft.com" {
		t.Errorf("asked %+v", last)
	}
	if !slices.Contains(ch.Secrets(j.ID), "eyJ-token-of-job-1") {
		t.Errorf("the token is not masked: %v", ch.Secrets(j.ID))
	}
	src.err = runbooker.Errorf(runbooker.EUNAVAILABLE, "identity authority https://login: refused the token request: invalid_client: AADSTS7000215: Invalid client secret provided.")
	if st, doc := get(q, hdr); st != 502 || doc["message"] != runbooker.ErrorMessage(src.err) {
		t.Errorf("authority refusal: %d %v", st, doc)
	}
	src.err = runbooker.Errorf(runbooker.EINVALID, "this job has no managed identity")
	if st, _ := get(q, hdr); st != 400 {
		t.Errorf("no identity: %d", st)
	}
	// The asset routes beside it keep their own token.
	assetStatus := func(token string) int {
		req, _ := http.NewRequest("GET", env[EnvAssetURL]+"/assets/variable/x", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if a, b := assetStatus(env[EnvAssetToken]), assetStatus(env[EnvIdentityHeader]); a != 404 || b != 401 {
		t.Errorf("asset read with the asset token %d (want 404: none), with the identity header %d (want 401)", a, b)
	}
	revoke()
	if st, _ := get(q, hdr); st != 401 {
		t.Errorf("after the job ended: %d", st)
	}
}
