package http

import (
	_ "embed"
	"net/http"
)

// openAPIDocument is the OpenAPI 3.1 description of every route the server
// registers (external API, management API, worker protocol, /healthz).
// TestOpenAPICoversRoutes holds it to Routes: a new route needs its entry.
//
//go:embed openapi.json
var openAPIDocument []byte

// handleOpenAPI serves the document without authentication: it describes
// the API's shape, nothing of any tenant.
func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(openAPIDocument)
}
