package http

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/runbooker/runbooker/engine"
)

// notAPIRoutes are registered patterns that are no API: the catch-all that
// serves the portal's pages and answers unknown API paths with a JSON 404.
var notAPIRoutes = []string{"/"}

// wildcardRest turns a ServeMux "{name...}" wildcard into OpenAPI's "{name}".
var wildcardRest = regexp.MustCompile(`\{([^}.]+)\.\.\.\}`)

// TestOpenAPICoversRoutes holds http/openapi.json to the route table: every
// registered "METHOD /path" must be documented, and every documented
// operation must be registered. Adding a route means adding it to the
// document.
func TestOpenAPICoversRoutes(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := NewServer(engine.New(testStore(t), engine.Config{}, quiet), Config{}, quiet)

	served := map[string]bool{}
	for _, p := range srv.Routes() {
		if slices.Contains(notAPIRoutes, p) {
			continue
		}
		method, path, ok := strings.Cut(p, " ")
		if !ok || !strings.HasPrefix(path, "/") {
			t.Errorf("route %q has no method or no absolute path: the document cannot describe it", p)
			continue
		}
		served[method+" "+wildcardRest.ReplaceAllString(path, "{$1}")] = true
	}

	doc := loadOpenAPI(t)
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	for r := range served {
		if !documented[r] {
			t.Errorf("%s is served but missing from http/openapi.json", r)
		}
	}
	for r := range documented {
		if !served[r] {
			t.Errorf("%s is in http/openapi.json but not served", r)
		}
	}
	if len(served) < 50 {
		t.Errorf("only %d routes recorded: is routeMux still used for every registration?", len(served))
	}
}

// TestOpenAPIServed checks that GET /api/openapi.json answers the embedded
// document without any credential.
func TestOpenAPIServed(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := NewServer(engine.New(testStore(t), engine.Config{}, quiet), Config{}, quiet)
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/openapi.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if string(body) != string(openAPIDocument) {
		t.Error("GET /api/openapi.json does not answer the embedded document")
	}
}

// loadOpenAPI parses and validates the embedded document.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openAPIDocument)
	if err != nil {
		t.Fatalf("http/openapi.json does not load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("http/openapi.json is not a valid OpenAPI document: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("http/openapi.json is OpenAPI %s, want 3.1", doc.OpenAPI)
	}
	return doc
}
