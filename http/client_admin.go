package http

import (
	"context"
	"net/http"
	"net/url"

	"github.com/runbooker/runbooker"
)

// StartBatch queues jobs in one request: all of them, or none when the
// server refuses any (its error names the entry as "job <i> of the batch").
// The jobs come back in the order asked for.
func (c *Client) StartBatch(ctx context.Context, jobs []BatchJob) ([]*runbooker.Job, error) {
	var out BatchResponse
	_, err := c.doJSON(ctx, http.MethodPost, "/api/v1/jobs/batch", BatchRequest{Jobs: jobs}, &out)
	return out.Jobs, err
}

// CreateGroup creates a worker group; the answer carries its registration token.
func (c *Client) CreateGroup(ctx context.Context, g GroupView) (*GroupView, error) {
	var out GroupView
	_, err := c.doJSON(ctx, http.MethodPost, "/api/v1/groups", g, &out)
	return &out, err
}

// Groups lists the worker groups with their workers.
func (c *Client) Groups(ctx context.Context) ([]GroupView, error) {
	var out struct {
		Groups []GroupView `json:"groups"`
	}
	_, err := c.doJSON(ctx, http.MethodGet, "/api/v1/groups", nil, &out)
	return out.Groups, err
}

// Group returns one worker group with its workers.
func (c *Client) Group(ctx context.Context, name string) (*GroupView, error) {
	var out GroupView
	_, err := c.doJSON(ctx, http.MethodGet, "/api/v1/groups/"+url.PathEscape(name), nil, &out)
	return &out, err
}

// Version asks the server for its version.
func (c *Client) Version(ctx context.Context) (*VersionView, error) {
	var out VersionView
	_, err := c.doJSON(ctx, http.MethodGet, "/api/v1/version", nil, &out)
	return &out, err
}

// UpdateGroup replaces a worker group's settings (for the built-in group
// "cloud" too).
func (c *Client) UpdateGroup(ctx context.Context, g GroupView) (*GroupView, error) {
	var out GroupView
	_, err := c.doJSON(ctx, http.MethodPut, "/api/v1/groups/"+url.PathEscape(g.Name), g, &out)
	return &out, err
}

// RotateGroupToken gives a group a new registration token with the limits
// in req (none when zero).
func (c *Client) RotateGroupToken(ctx context.Context, name string, req TokenRequest) (*TokenView, error) {
	var out TokenView
	_, err := c.doJSON(ctx, http.MethodPost, "/api/v1/groups/"+url.PathEscape(name)+"/rotate-token", req, &out)
	return &out, err
}

// DeleteGroup removes an empty worker group.
func (c *Client) DeleteGroup(ctx context.Context, name string) error {
	_, err := c.doJSON(ctx, http.MethodDelete, "/api/v1/groups/"+url.PathEscape(name), nil, nil)
	return err
}

// Workers lists the tenant's workers (of one group when group is set).
func (c *Client) Workers(ctx context.Context, group string) ([]WorkerView, error) {
	var out struct {
		Workers []WorkerView `json:"workers"`
	}
	_, err := c.doJSON(ctx, http.MethodGet, "/api/v1/workers?group="+url.QueryEscape(group), nil, &out)
	return out.Workers, err
}

// DeleteWorker removes a worker; its credential stops working at once on
// the server that deleted it, and within 2 s on the other replicas.
func (c *Client) DeleteWorker(ctx context.Context, id string) error {
	_, err := c.doJSON(ctx, http.MethodDelete, "/api/v1/workers/"+url.PathEscape(id), nil, nil)
	return err
}

// PutAsset creates or replaces an asset.
func (c *Client) PutAsset(ctx context.Context, t runbooker.AssetType, name string, in AssetPut) (*AssetView, error) {
	var out AssetView
	_, err := c.doJSON(ctx, http.MethodPut, "/api/v1/assets/"+url.PathEscape(string(t))+"/"+url.PathEscape(name), in, &out)
	return &out, err
}

// Asset returns an asset; secret values are never included.
func (c *Client) Asset(ctx context.Context, t runbooker.AssetType, name string) (*AssetView, error) {
	var out AssetView
	_, err := c.doJSON(ctx, http.MethodGet, "/api/v1/assets/"+url.PathEscape(string(t))+"/"+url.PathEscape(name), nil, &out)
	return &out, err
}

// Assets lists assets, of one type when t is set.
func (c *Client) Assets(ctx context.Context, t runbooker.AssetType) ([]AssetView, error) {
	var out struct {
		Assets []AssetView `json:"assets"`
	}
	_, err := c.doJSON(ctx, http.MethodGet, "/api/v1/assets?type="+url.QueryEscape(string(t)), nil, &out)
	return out.Assets, err
}

// DeleteAsset removes an asset.
func (c *Client) DeleteAsset(ctx context.Context, t runbooker.AssetType, name string) error {
	_, err := c.doJSON(ctx, http.MethodDelete, "/api/v1/assets/"+url.PathEscape(string(t))+"/"+url.PathEscape(name), nil, nil)
	return err
}
