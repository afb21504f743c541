package directory

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
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
