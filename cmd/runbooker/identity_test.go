package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/entra/entratest"
	rbhttp "github.com/runbooker/runbooker/http"
)

// identityRunbook asks the job's managed-identity endpoint for a token as
// Azure's SDKs do, and prints what it got: the raw token (which the output
// must mask) and its SHA-256 (which the test compares with the token the
// authority issued).
const identityRunbook = `#!/bin/bash
# Synopsis: Read a token of the managed identity.
# @param Resource string default=https://graph.microsoft.com - Resource
if [ -z "$IDENTITY_ENDPOINT" ]; then
  echo "no identity endpoint"
  exit 0
fi
echo "account $AUTOMATION_ASSET_ACCOUNTID"
url="$IDENTITY_ENDPOINT?resource=${RB_PARAM_Resource:-https://graph.microsoft.com}&api-version=2019-08-01"
ans=$(curl -s -w '\n%{http_code}' -H "X-IDENTITY-HEADER: $IDENTITY_HEADER" "$url")
code=${ans##*$'\n'}
body=${ans%$'\n'*}
echo "status $code"
if [ "$code" != 200 ]; then
  echo "error $(jq -r .message <<<"$body")"
else
  tok=$(jq -r .access_token <<<"$body")
  echo "fields $(jq -r '[.token_type, .resource, .client_id] | join(" ")' <<<"$body")"
  exp=$(jq -r .expires_on <<<"$body")
  echo "expires in $(( exp - $(date +%s) ))"
  echo "raw $tok"
  echo "sha $(printf %s "$tok" | sha256sum | cut -d' ' -f1)"
fi
# Azure Automation's documented POST, and RealmJoin.RunbookHelper's probe
# (no api-version, a Metadata header).
echo "post $(curl -s -H "X-IDENTITY-HEADER: $IDENTITY_HEADER" -H 'Metadata: True' --data-urlencode resource=https://graph.microsoft.com/ "$IDENTITY_ENDPOINT" | jq -r .resource)"
echo "probe $(curl -s -o /dev/null -w '%{http_code}' -H "X-IDENTITY-HEADER: $IDENTITY_HEADER" -H 'Metadata: True' "$IDENTITY_ENDPOINT?resource=https://graph.microsoft.com/")"
echo "without header $(curl -s -o /dev/null -w '%{http_code}' "$url")"
echo "wrong header $(curl -s -o /dev/null -w '%{http_code}' -H 'x-identity-header: nope' "$url")"
echo "lower-case header $(curl -s -o /dev/null -w '%{http_code}' -H "x-identity-header: $IDENTITY_HEADER" "$url")"
echo "other client $(curl -s -o /dev/null -w '%{http_code}' -H "X-IDENTITY-HEADER: $IDENTITY_HEADER" "$url&client_id=someone-else")"
`

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestIdentityEndpointOnHybridAndCloud gives jobs of a tenant with an
// identity setting Azure Automation's managed-identity endpoint, on a
// hybrid worker and in the built-in group, against an Entra token endpoint
// on loopback.
func TestIdentityEndpointOnHybridAndCloud(t *testing.T) {
	auth := entratest.Start(t)
	s := startServer(t, func(c *ServeConfig) { c.IdentityAllowLocal = true })
	ctx := context.Background()
	g, err := s.client.CreateGroup(ctx, rbhttp.GroupView{Name: "onprem"})
	if err != nil {
		t.Fatal(err)
	}
	startWorker(t, s.url, g.Token, t.TempDir())
	waitWorkersOnline(t, s.client, "onprem", 1)
	s.put("org_general_identity", runbooker.LangBash, identityRunbook)
	run := func(runOn string, params map[string]any) string {
		t.Helper()
		resp, err := s.client.Start(ctx, "org_general_identity", params, runOn)
		if err != nil {
			t.Fatal(err)
		}
		j := s.waitJob(resp.JobID)
		out, _ := s.client.OutputText(ctx, resp.JobID)
		if j.Status != runbooker.StatusCompleted {
			t.Fatalf("job on %s: %s %s\n%s", runOn, j.Status, j.Exception, out)
		}
		return out
	}

	// No identity yet: no endpoint.
	if out := run("onprem", nil); strings.TrimSpace(out) != "no identity endpoint" {
		t.Errorf("job of a tenant without identity:\n%s", out)
	}
	if _, err := s.client.PutAsset(ctx, runbooker.AssetCredential, "mi-secret", rbhttp.AssetPut{
		Value: json.RawMessage(`{"userName":"` + auth.ClientID + `","password":"` + auth.Secret + `"}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.client.PutSetting(ctx, "identity", []byte(`{"tenantId": "`+auth.TenantID+`", "clientId": "`+auth.ClientID+
		`", "secretAsset": "mi-secret", "authority": "`+auth.URL+`", "accountId": "rb-account-1"}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.client.PutSetting(ctx, "identity", []byte(`{"tenantId": "t", "clientId": "c"}`)); runbooker.ErrorCode(err) != runbooker.EINVALID {
		t.Errorf("an identity setting without a secret: %v", err)
	}

	out := run("onprem", nil)
	// https://graph.microsoft.com and https://graph.microsoft.com/ (the
	// POST and the probe) are two resources: two tokens.
	if auth.Issued() != 2 {
		t.Fatalf("authority issued %d tokens, want 2:\n%s", auth.Issued(), out)
	}
	tok := auth.Tokens()[0]
	for _, want := range []string{"account rb-account-1", "status 200",
		"fields Bearer https://graph.microsoft.com " + auth.ClientID, "raw ***", "sha " + sha(tok),
		"post https://graph.microsoft.com/", "probe 200", "without header 401", "wrong header 401", "lower-case header 200", "other client 400"} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("hybrid job output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, tok) || !strings.Contains(out, "expires in 35") {
		t.Errorf("hybrid job output (token masked, expiring in about an hour):\n%s", out)
	}

	// A second job, on the worker and in the built-in group, gets the
	// cached token: the authority is not asked again.
	for _, group := range []string{"onprem", runbooker.CloudGroup} {
		if out := run(group, nil); !strings.Contains(out, "sha "+sha(tok)+"\n") || !strings.Contains(out, "raw ***\n") || auth.Issued() != 2 {
			t.Errorf("job on %s (issued %d):\n%s", group, auth.Issued(), out)
		}
	}

	// A job of another tenant, which has no identity, in the same built-in group.
	c, secret, err := createCredential(ctx, s.m.Store, "other", "tester", runbooker.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rbhttp.NewClient(s.url, c.ID+":"+secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.PutRunbook(ctx, "org_general_identity", runbooker.LangBash, []byte(identityRunbook)); err != nil {
		t.Fatal(err)
	}
	resp, err := other.Start(ctx, "org_general_identity", nil, runbooker.CloudGroup)
	if err != nil {
		t.Fatal(err)
	}
	if j, err := s.m.Engine.Wait(ctx, "other", resp.JobID); err != nil || j.Status != runbooker.StatusCompleted {
		t.Fatalf("other tenant's job: %v %+v", err, j)
	}
	if out, _ := other.OutputText(ctx, resp.JobID); strings.TrimSpace(out) != "no identity endpoint" {
		t.Errorf("job of another tenant without identity:\n%s", out)
	}

	// The authority refusing the app's secret: 502 with its error code and
	// description, never the secret.
	if _, err := s.client.PutAsset(ctx, runbooker.AssetCredential, "mi-secret", rbhttp.AssetPut{
		Value: json.RawMessage(`{"userName":"app","password":"not-the-secret"}`)}); err != nil {
		t.Fatal(err)
	}
	out = run("onprem", map[string]any{"Resource": "https://management.azure.com"})
	if !strings.Contains(out, "status 502\n") || !strings.Contains(out, "invalid_client: AADSTS7000215") || strings.Contains(out, "not-the-secret") {
		t.Errorf("refused by the authority:\n%s", out)
	}
}
