package directory

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
)

// fakeGraph stands in for Microsoft Graph and the Microsoft identity
// platform's token endpoint, answering with the documented shapes. It is
// the one mock of the package: Graph cannot be reached from here.
type fakeGraph struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	tokens   int            // tokens issued
	valid    string         // the token Graph accepts now
	requests map[string]int // Graph requests per path
	throttle map[string][]int
	retryAt  string // Retry-After sent with throttled answers
	// memberOf pages hold two groups each.
	users, groups, devices []graphObject
	memberOf               map[string][]string // object id -> transitive group ids
	owners                 map[string][]graphObject
	foreignNextLink        bool
}

const (
	fakeTenant = "contoso.onmicrosoft.com"
	fakeClient = "11111111-2222-3333-4444-555555555555"
	fakeSecret = "s3cret~with+special&chars"

	aliceID  = "a0000000-0000-0000-0000-000000000001"
	bobID    = "a0000000-0000-0000-0000-000000000002"
	liamID   = "a0000000-0000-0000-0000-000000000003"
	laptopID = "d0000000-0000-0000-0000-000000000001"
	kioskID  = "d0000000-0000-0000-0000-000000000002"
)

func newFakeGraph(t *testing.T) *fakeGraph {
	f := &fakeGraph{
		t:        t,
		requests: map[string]int{},
		throttle: map[string][]int{},
		retryAt:  "0",
		users: []graphObject{
			{ID: aliceID, DisplayName: "Alice Adams", UserPrincipalName: "alice@contoso.test", Mail: "alice@contoso.test"},
			{ID: bobID, DisplayName: "Bob Brown", UserPrincipalName: "bob@contoso.test"},
			{ID: liamID, DisplayName: "Liam O'Brien", UserPrincipalName: "liam.obrien@contoso.test"},
		},
		devices: []graphObject{{ID: laptopID, DisplayName: "LAPTOP-01"}, {ID: kioskID, DisplayName: "KIOSK"}},
		owners: map[string][]graphObject{
			laptopID: {{Type: "#microsoft.graph.user", ID: aliceID}},
		},
		memberOf: map[string][]string{},
	}
	var groupIDs []string
	for i := range 5 {
		id := fmt.Sprintf("60000000-0000-0000-0000-00000000000%d", i)
		groupIDs = append(groupIDs, id)
		f.groups = append(f.groups, graphObject{ID: id, DisplayName: fmt.Sprintf("Group %d", i)})
	}
	f.groups = append(f.groups, graphObject{ID: "60000000-0000-0000-0000-000000000009", DisplayName: "Twin"},
		graphObject{ID: "60000000-0000-0000-0000-000000000010", DisplayName: "Twin"})
	f.memberOf[aliceID] = groupIDs                  // five groups: three pages
	f.memberOf[laptopID] = groupIDs[:1]             // one page
	f.memberOf[groupIDs[1]] = []string{groupIDs[0]} // a group in a group
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// directory opens a graphDirectory on the fake, trusting its certificate.
func (f *fakeGraph) directory(secret string) *graphDirectory {
	cfg := Config{Provider: ProviderMSGraph, TenantID: fakeTenant, ClientID: fakeClient,
		GraphURL: f.srv.URL + "/v1.0", TokenURL: f.srv.URL + "/" + fakeTenant + "/oauth2/v2.0/token"}
	if err := cfg.Validate(); err != nil {
		f.t.Fatal(err)
	}
	return newGraph(cfg.withDefaults(), secret, f.srv.Client())
}

func (f *fakeGraph) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[path]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func graphErr(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg,
		"innerError": map[string]any{"request-id": "00000000-0000-0000-0000-000000000000"}}})
}

func (f *fakeGraph) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path == "/"+fakeTenant+"/oauth2/v2.0/token" {
		f.serveToken(w, r)
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/v1.0/")
	if !ok || r.Method != http.MethodGet {
		graphErr(w, http.StatusBadRequest, "BadRequest", "Invalid request")
		return
	}
	f.requests[path]++
	if r.Header.Get("Authorization") != "Bearer "+f.valid || f.valid == "" {
		graphErr(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure.")
		return
	}
	if codes := f.throttle[path]; len(codes) > 0 {
		f.throttle[path] = codes[1:]
		w.Header().Set("Retry-After", f.retryAt)
		graphErr(w, codes[0], "TooManyRequests", "Too many requests.")
		return
	}
	q := r.URL.Query()
	parts := strings.Split(path, "/")
	switch {
	case len(parts) == 1:
		f.serveList(w, parts[0], q)
	case len(parts) == 2:
		if o, ok := f.find(parts[0], parts[1]); ok {
			writeJSON(w, http.StatusOK, o)
			return
		}
		graphErr(w, http.StatusNotFound, "Request_ResourceNotFound",
			fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", parts[1]))
	case len(parts) == 4 && parts[2] == "transitiveMemberOf" && parts[3] == "microsoft.graph.group":
		if _, ok := f.find(parts[0], parts[1]); !ok {
			graphErr(w, http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+parts[1]+"' does not exist.")
			return
		}
		if q.Get("$select") != "id" {
			graphErr(w, http.StatusBadRequest, "BadRequest", "expected $select=id")
			return
		}
		skip, _ := strconv.Atoi(q.Get("$skiptoken"))
		ids := f.memberOf[parts[1]]
		page := map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects"}
		var value []map[string]any
		for _, id := range ids[skip:min(skip+2, len(ids))] {
			value = append(value, map[string]any{"@odata.type": "#microsoft.graph.group", "id": id})
		}
		page["value"] = value
		if skip+2 < len(ids) {
			base := f.srv.URL
			if f.foreignNextLink {
				base = "https://attacker.example"
			}
			page["@odata.nextLink"] = fmt.Sprintf("%s/v1.0/%s/%s/transitiveMemberOf/microsoft.graph.group?$select=id&$skiptoken=%d", base, parts[0], parts[1], skip+2)
		}
		writeJSON(w, http.StatusOK, page)
	case len(parts) == 3 && parts[0] == "devices" && parts[2] == "registeredOwners":
		if _, ok := f.find("devices", parts[1]); !ok {
			graphErr(w, http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+parts[1]+"' does not exist.")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"value": append([]graphObject{}, f.owners[parts[1]]...)})
	default:
		graphErr(w, http.StatusBadRequest, "BadRequest", "Unsupported segment "+path)
	}
}

func (f *fakeGraph) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "AADSTS900144: bad request"})
		return
	}
	if err := r.ParseForm(); err != nil {
		f.t.Errorf("token form: %v", err)
	}
	form := r.PostForm
	if form.Get("grant_type") != "client_credentials" || form.Get("scope") != "https://graph.microsoft.com/.default" {
		f.t.Errorf("token request form %v", form)
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "AADSTS90014: missing field"})
		return
	}
	if form.Get("client_id") != fakeClient || form.Get("client_secret") != fakeSecret {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client",
			"error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1\r\nCorrelation ID: 2"})
		return
	}
	f.tokens++
	f.valid = fmt.Sprintf("token-%d", f.tokens)
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": f.valid})
}

// collectionOf returns the objects of a collection segment.
func (f *fakeGraph) collectionOf(name string) []graphObject {
	switch name {
	case "users":
		return f.users
	case "groups":
		return f.groups
	case "devices":
		return f.devices
	}
	return nil
}

// find finds by id, or for users by userPrincipalName, as Graph does.
func (f *fakeGraph) find(collection, key string) (graphObject, bool) {
	for _, o := range f.collectionOf(collection) {
		if strings.EqualFold(o.ID, key) || (collection == "users" && strings.EqualFold(o.UserPrincipalName, key)) {
			return o, true
		}
	}
	return graphObject{}, false
}

var (
	odataString  = `'((?:[^']|'')*)'`
	filterPrefix = regexp.MustCompile(`^startswith\(displayName,` + odataString + `\)(?: or startswith\(userPrincipalName,` + odataString + `\))?$`)
	filterEqual  = regexp.MustCompile(`^displayName eq ` + odataString + `$`)
)

func (f *fakeGraph) serveList(w http.ResponseWriter, collection string, q map[string][]string) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if get("$select") == "" {
		graphErr(w, http.StatusBadRequest, "BadRequest", "this fake wants $select on lists")
		return
	}
	top, err := strconv.Atoi(get("$top"))
	if err != nil || top < 1 || top > 999 {
		graphErr(w, http.StatusBadRequest, "Request_BadRequest", "Invalid page size specified: '"+get("$top")+"'. Must be between 1 and 999 inclusive.")
		return
	}
	match := func(graphObject) bool { return true }
	if filter := get("$filter"); filter != "" {
		unquote := func(s string) string { return strings.ReplaceAll(s, "''", "'") }
		if m := filterPrefix.FindStringSubmatch(filter); m != nil && (m[2] == "" || collection == "users") {
			p := strings.ToLower(unquote(m[1]))
			match = func(o graphObject) bool {
				return strings.HasPrefix(strings.ToLower(o.DisplayName), p) || strings.HasPrefix(strings.ToLower(o.UserPrincipalName), p)
			}
		} else if m := filterEqual.FindStringSubmatch(filter); m != nil {
			name := unquote(m[1])
			match = func(o graphObject) bool { return strings.EqualFold(o.DisplayName, name) }
		} else {
			graphErr(w, http.StatusBadRequest, "BadRequest", "Invalid filter clause: "+filter)
			return
		}
	}
	var value []graphObject
	for _, o := range f.collectionOf(collection) {
		if match(o) && len(value) < top {
			value = append(value, o)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#" + collection, "value": value})
}

func TestGraph(t *testing.T) {
	f := newFakeGraph(t)
	d := f.directory(fakeSecret)
	ctx := context.Background()

	t.Run("lookup", func(t *testing.T) {
		for _, tc := range []struct {
			kind   Kind
			key    string
			wantID string
		}{
			{User, aliceID, aliceID},
			{User, "BOB@contoso.test", bobID},
			{Group, "60000000-0000-0000-0000-000000000002", "60000000-0000-0000-0000-000000000002"},
			{Group, "group 3", "60000000-0000-0000-0000-000000000003"},
			{Device, "laptop-01", laptopID},
		} {
			o, err := d.Lookup(ctx, tc.kind, tc.key)
			if err != nil || o.ID != tc.wantID || o.Kind != tc.kind {
				t.Errorf("Lookup(%s, %q) = %+v, %v; want id %s", tc.kind, tc.key, o, err, tc.wantID)
			}
		}
		o, err := d.Lookup(ctx, User, "alice@contoso.test")
		if err != nil || o.DisplayName != "Alice Adams" || o.Mail != "alice@contoso.test" || o.UserPrincipalName != "alice@contoso.test" {
			t.Errorf("alice = %+v, %v", o, err)
		}
		for _, tc := range []struct {
			kind Kind
			key  string
			code string
		}{
			{User, "nobody@contoso.test", runbooker.ENOTFOUND},
			{Group, "No Such Group", runbooker.ENOTFOUND},
			{Group, "60000000-0000-0000-0000-0000000000ff", runbooker.ENOTFOUND}, // an id, then a name, neither there
			{Device, "it's", runbooker.ENOTFOUND},                                // a quote in a filter value
			{Group, "Twin", runbooker.EINVALID},
			{User, "..", runbooker.ENOTFOUND}, // not a path to another resource
			{User, "", runbooker.EINVALID},
		} {
			_, err := d.Lookup(ctx, tc.kind, tc.key)
			if runbooker.ErrorCode(err) != tc.code {
				t.Errorf("Lookup(%s, %q): %v, want %s", tc.kind, tc.key, err, tc.code)
			}
		}
	})

	t.Run("device primary user", func(t *testing.T) {
		o, err := d.Lookup(ctx, Device, laptopID)
		if err != nil || o.PrimaryUser != aliceID || o.DisplayName != "LAPTOP-01" {
			t.Errorf("LAPTOP-01 = %+v, %v; want Alice as primary user", o, err)
		}
		if o, err := d.Lookup(ctx, Device, "KIOSK"); err != nil || o.PrimaryUser != "" {
			t.Errorf("KIOSK = %+v, %v; want no primary user", o, err)
		}
	})

	t.Run("search", func(t *testing.T) {
		names := func(kind Kind, q string, limit int) []string {
			t.Helper()
			objs, err := d.Search(ctx, kind, q, limit)
			if err != nil {
				t.Fatalf("Search(%s, %q): %v", kind, q, err)
			}
			var out []string
			for _, o := range objs {
				out = append(out, o.DisplayName)
			}
			return out
		}
		for _, tc := range []struct {
			kind  Kind
			q     string
			limit int
			want  []string
		}{
			{User, "", 10, []string{"Alice Adams", "Bob Brown", "Liam O'Brien"}},
			{User, "", 2, []string{"Alice Adams", "Bob Brown"}},
			{User, "bob@", 10, []string{"Bob Brown"}}, // by userPrincipalName
			{User, "Liam O'", 10, []string{"Liam O'Brien"}},
			{User, "x') or startswith(displayName,'", 10, nil},
			{Group, "group", 3, []string{"Group 0", "Group 1", "Group 2"}},
			{Device, "LAP", 10, []string{"LAPTOP-01"}},
		} {
			if got := names(tc.kind, tc.q, tc.limit); !slices.Equal(got, tc.want) {
				t.Errorf("Search(%s, %q, %d) = %q, want %q", tc.kind, tc.q, tc.limit, got, tc.want)
			}
		}
		devices, err := d.Search(ctx, Device, "LAP", 10)
		if err != nil || devices[0].PrimaryUser != aliceID {
			t.Errorf("Search fills in the primary user: %+v, %v", devices, err)
		}
	})

	t.Run("memberOf pages", func(t *testing.T) {
		got, err := d.MemberOf(ctx, User, aliceID)
		want := []string{"60000000-0000-0000-0000-000000000000", "60000000-0000-0000-0000-000000000001",
			"60000000-0000-0000-0000-000000000002", "60000000-0000-0000-0000-000000000003", "60000000-0000-0000-0000-000000000004"}
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("MemberOf(alice) = %q, %v; want all five groups over three pages", got, err)
		}
		if n := f.count("users/" + aliceID + "/transitiveMemberOf/microsoft.graph.group"); n != 3 {
			t.Errorf("%d requests for alice's groups, want 3 pages", n)
		}
		if got, err := d.MemberOf(ctx, Device, laptopID); err != nil || len(got) != 1 {
			t.Errorf("MemberOf(laptop) = %q, %v", got, err)
		}
		if got, err := d.MemberOf(ctx, Group, "60000000-0000-0000-0000-000000000001"); err != nil || len(got) != 1 {
			t.Errorf("MemberOf(group 1) = %q, %v", got, err)
		}
		if got, err := d.MemberOf(ctx, User, bobID); err != nil || got == nil || len(got) != 0 {
			t.Errorf("MemberOf(bob) = %#v, %v; want an empty list", got, err)
		}
		if _, err := d.MemberOf(ctx, User, "a0000000-0000-0000-0000-0000000000ff"); runbooker.ErrorCode(err) != runbooker.ENOTFOUND {
			t.Errorf("MemberOf of an unknown user: %v, want ENOTFOUND", err)
		}
	})

	t.Run("one token", func(t *testing.T) {
		f.mu.Lock()
		n := f.tokens
		f.mu.Unlock()
		if n != 1 {
			t.Errorf("%d tokens were requested for all these calls, want 1", n)
		}
	})
}

func TestGraphToken(t *testing.T) {
	f := newFakeGraph(t)
	d := f.directory(fakeSecret)
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	d.c.now = func() time.Time { return now }
	ctx := context.Background()
	tokens := func() int { f.mu.Lock(); defer f.mu.Unlock(); return f.tokens }

	for range 3 {
		if _, err := d.Lookup(ctx, User, aliceID); err != nil {
			t.Fatal(err)
		}
	}
	if tokens() != 1 {
		t.Fatalf("%d tokens for three calls, want 1", tokens())
	}
	now = now.Add(50 * time.Minute) // the token lasts an hour
	d.Lookup(ctx, User, aliceID)
	if tokens() != 1 {
		t.Errorf("a token with ten minutes left was renewed")
	}
	now = now.Add(9 * time.Minute) // shortly before it expires
	if _, err := d.Lookup(ctx, User, aliceID); err != nil {
		t.Fatal(err)
	}
	if tokens() != 2 {
		t.Errorf("a token about to expire was not renewed (%d tokens)", tokens())
	}

	// Graph stops accepting the token early: one new token, one retry.
	f.mu.Lock()
	f.valid = "revoked"
	f.mu.Unlock()
	if _, err := d.Lookup(ctx, User, aliceID); err != nil {
		t.Errorf("after the token was revoked: %v", err)
	}
	if tokens() != 3 {
		t.Errorf("%d tokens, want a third after the revocation", tokens())
	}

	bad := f.directory("wrong secret")
	_, err := bad.Lookup(ctx, User, aliceID)
	if runbooker.ErrorCode(err) != runbooker.EUNAVAILABLE || !strings.Contains(runbooker.ErrorMessage(err), "AADSTS7000215") ||
		strings.Contains(runbooker.ErrorMessage(err), "Trace ID") || strings.Contains(err.Error(), "wrong secret") {
		t.Errorf("a wrong client secret: %v; want EUNAVAILABLE with the AADSTS code, without the secret", err)
	}
}

func TestGraphUnavailable(t *testing.T) {
	f := newFakeGraph(t)
	d := f.directory(fakeSecret)
	var waits []time.Duration
	d.c.wait = func(ctx context.Context, w time.Duration) error { waits = append(waits, w); return nil }
	ctx := context.Background()
	path := "users/" + aliceID
	throttle := func(retryAfter string, codes ...int) {
		f.mu.Lock()
		f.throttle[path], f.retryAt, f.requests[path] = codes, retryAfter, 0
		f.mu.Unlock()
		waits = nil
	}

	throttle("2", http.StatusTooManyRequests)
	if _, err := d.Lookup(ctx, User, aliceID); err != nil {
		t.Errorf("one 429 with Retry-After 2 is waited out: %v", err)
	}
	if !slices.Equal(waits, []time.Duration{2 * time.Second}) || f.count(path) != 2 {
		t.Errorf("waited %v over %d requests, want one wait of 2s and 2 requests", waits, f.count(path))
	}

	throttle("0", http.StatusServiceUnavailable, http.StatusServiceUnavailable, http.StatusServiceUnavailable)
	_, err := d.Lookup(ctx, User, aliceID)
	if runbooker.ErrorCode(err) != runbooker.EUNAVAILABLE || f.count(path) != 2 {
		t.Errorf("a lasting 503: %v after %d requests; want EUNAVAILABLE after 2", err, f.count(path))
	}

	throttle("120", http.StatusTooManyRequests)
	_, err = d.Lookup(ctx, User, aliceID)
	if runbooker.ErrorCode(err) != runbooker.EUNAVAILABLE || f.count(path) != 1 || len(waits) != 0 {
		t.Errorf("Retry-After 120: %v after %d requests and waits %v; want EUNAVAILABLE at once", err, f.count(path), waits)
	}

	throttle("", http.StatusInternalServerError)
	if _, err = d.Lookup(ctx, User, aliceID); runbooker.ErrorCode(err) != runbooker.EUNAVAILABLE || f.count(path) != 1 {
		t.Errorf("a 500 without Retry-After: %v after %d requests", err, f.count(path))
	}

	f.mu.Lock()
	f.foreignNextLink = true
	f.mu.Unlock()
	if _, err := d.MemberOf(ctx, User, aliceID); runbooker.ErrorCode(err) != runbooker.EUNAVAILABLE ||
		!strings.Contains(runbooker.ErrorMessage(err), "another host") {
		t.Errorf("a nextLink to another host: %v; want EUNAVAILABLE and the token kept home", err)
	}

	f.srv.Close()
	if _, err := d.Lookup(ctx, User, bobID); runbooker.ErrorCode(err) != runbooker.EUNAVAILABLE {
		t.Errorf("Graph down: %v, want EUNAVAILABLE", err)
	}
	fresh := f.directory(fakeSecret)
	if _, err := fresh.Search(ctx, User, "", 5); runbooker.ErrorCode(err) != runbooker.EUNAVAILABLE {
		t.Errorf("token endpoint down: %v, want EUNAVAILABLE", err)
	}
}
