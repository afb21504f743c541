package engine_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/engine"
	"github.com/runbooker/runbooker/entra"
	"github.com/runbooker/runbooker/entra/entratest"
	"github.com/runbooker/runbooker/keyring"
)

func TestJobIdentityTokensOnlyForLeaseHoldersOfTenantsWithAnIdentity(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t)
	ctx := context.Background()
	k, _ := keyring.New(keyring.Generate())
	e.SetKeyring(k)
	auth := entratest.Start(t)
	e.SetIdentityIssuer(entra.NewIssuer(entra.IssuerConfig{AllowLocal: true}))
	claim := func() runbooker.Assignment {
		t.Helper()
		as, err := e.Claim(ctx, engine.ClaimRequest{Group: runbooker.CloudGroup, WorkerID: "w", Limit: 1, Wait: time.Second})
		if err != nil || len(as) != 1 {
			t.Fatalf("claim: %v %d", err, len(as))
		}
		return as[0]
	}
	graph := runbooker.IdentityRequest{Resource: "https://graph.microsoft.com"}

	// A tenant without an identity: the assignment says nothing, a request is EINVALID.
	j := create(t, e)
	if as := claim(); as.Identity != nil {
		t.Errorf("identity without a setting: %+v", as.Identity)
	}
	if _, err := e.JobIdentityToken(ctx, nil, "default", runbooker.JobRef{ID: j.ID, Attempt: 1}, graph); runbooker.ErrorCode(err) != runbooker.EINVALID {
		t.Errorf("token without a setting: %v", err)
	}

	// With one (a certificate asset), the assignment carries it and the lease holder gets tokens.
	doc, _ := json.Marshal(map[string]string{"pem": auth.CertPEM})
	if _, err := e.PutAsset(ctx, engine.AssetInput{TenantID: "default", Type: runbooker.AssetCertificate, Name: "mi-cert", Value: doc}); err != nil {
		t.Fatal(err)
	}
	setting := `{"tenantId": "` + auth.TenantID + `", "clientId": "` + auth.ClientID + `", "certificateAsset": "mi-cert", "authority": "` + auth.URL + `"}`
	if err := e.Store().PutSetting(ctx, "default", entra.SettingKey, []byte(setting)); err != nil {
		t.Fatal(err)
	}
	e.ForgetIdentity("default") // the HTTP server does this when the document changes
	j = create(t, e)
	ref := runbooker.JobRef{ID: j.ID, Attempt: 1}
	if _, err := e.JobIdentityToken(ctx, nil, "default", ref, graph); runbooker.ErrorCode(err) != runbooker.ECONFLICT {
		t.Errorf("token for a queued job: %v", err)
	}
	as := claim()
	if as.Identity == nil || as.Identity.ClientID != auth.ClientID || len(as.Identity.AccountID) != 36 {
		t.Fatalf("assignment identity: %+v", as.Identity)
	}
	tok, err := e.JobIdentityToken(ctx, nil, "default", ref, graph)
	if err != nil || tok.AccessToken != auth.Tokens()[0] || tok.ClientID != auth.ClientID {
		t.Fatalf("token: %v %+v", err, tok)
	}
	for _, bad := range []runbooker.IdentityRequest{
		{Resource: graph.Resource, ClientID: "someone-else"},
		{Resource: graph.Resource, PrincipalID: "00000000-0000-0000-0000-000000000001"},
		{Resource: ""},
	} {
		if _, err := e.JobIdentityToken(ctx, nil, "default", ref, bad); runbooker.ErrorCode(err) != runbooker.EINVALID {
			t.Errorf("request %+v: %v", bad, err)
		}
	}
	if _, err := e.JobIdentityToken(ctx, nil, "default", runbooker.JobRef{ID: j.ID, Attempt: 2}, graph); runbooker.ErrorCode(err) != runbooker.ECONFLICT {
		t.Errorf("token for another attempt: %v", err)
	}
	if _, err := e.JobIdentityToken(ctx, &runbooker.Worker{ID: "w2", TenantID: "default"}, "default", ref, graph); runbooker.ErrorCode(err) != runbooker.ECONFLICT {
		t.Errorf("token for another worker's job: %v", err)
	}
	if auth.Issued() != 1 {
		t.Errorf("issued %d tokens, want 1", auth.Issued())
	}
	// A setting naming a missing asset says so.
	_ = e.Store().PutSetting(ctx, "default", entra.SettingKey, []byte(`{"tenantId": "t", "clientId": "c", "secretAsset": "gone"}`))
	if _, err := e.JobIdentityToken(ctx, nil, "default", ref, graph); runbooker.ErrorCode(err) != runbooker.EUNAVAILABLE {
		t.Errorf("missing secret asset: %v", err)
	}
}
