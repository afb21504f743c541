package http

import (
	"bytes"
	"context"
	"net/http"
	"net/url"

	"github.com/runbooker/runbooker"
)

// UploadModule uploads a PowerShell module (zip, .nupkg) or a Python wheel;
// the server reads its kind, name and version from the file. fileName is
// the file's base name (a wheel's carries its name and version).
func (c *Client) UploadModule(ctx context.Context, fileName string, content []byte) (*runbooker.ModuleRecord, error) {
	var out runbooker.ModuleRecord
	_, _, err := c.do(ctx, http.MethodPost, "/api/v1/modules?fileName="+url.QueryEscape(fileName),
		bytes.NewReader(content), "application/octet-stream", &out)
	return &out, err
}

// Modules lists the tenant's uploaded modules and packages.
func (c *Client) Modules(ctx context.Context) ([]*runbooker.ModuleRecord, error) {
	var out ModuleList
	_, err := c.doJSON(ctx, http.MethodGet, "/api/v1/modules", nil, &out)
	return out.Modules, err
}

func modulePath(kind runbooker.ModuleKind, name, version string) string {
	return "/api/v1/modules/" + url.PathEscape(string(kind)) + "/" + url.PathEscape(name) + "/" + url.PathEscape(version)
}

// Module returns one upload's record.
func (c *Client) Module(ctx context.Context, kind runbooker.ModuleKind, name, version string) (*runbooker.ModuleRecord, error) {
	var out runbooker.ModuleRecord
	_, err := c.doJSON(ctx, http.MethodGet, modulePath(kind, name, version), nil, &out)
	return &out, err
}

// DeleteModule removes one upload.
func (c *Client) DeleteModule(ctx context.Context, kind runbooker.ModuleKind, name, version string) error {
	_, err := c.doJSON(ctx, http.MethodDelete, modulePath(kind, name, version), nil, nil)
	return err
}
