package directory

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/runbooker/runbooker"
)

// graphDirectory answers from Microsoft Entra ID through Microsoft Graph
// with application permissions. Graph offers prefix matching only without
// its "advanced queries", so Search finds names that start with the query
// rather than contain it.
type graphDirectory struct {
	c *graphClient
}

// newGraph prepares a Graph directory for cfg (defaults filled in). client
// nil means a client with the package's timeout.
func newGraph(cfg Config, secret string, client *http.Client) *graphDirectory {
	if client == nil {
		client = &http.Client{Timeout: graphTimeout}
	}
	return &graphDirectory{c: &graphClient{cfg: cfg, secret: secret, http: client, now: time.Now, wait: sleepCtx}}
}

// graphObject is the part of a Graph user, group or device read here.
type graphObject struct {
	Type              string `json:"@odata.type"`
	ID                string `json:"id"`
	DisplayName       string `json:"displayName"`
	UserPrincipalName string `json:"userPrincipalName"`
	Mail              string `json:"mail"`
}

// graphPage is one page of a Graph collection.
type graphPage struct {
	Value    []graphObject `json:"value"`
	NextLink string        `json:"@odata.nextLink"`
}

// collection is the Graph collection of kind.
func collection(kind Kind) string { return string(kind) + "s" }

// selectFields is the $select of kind.
func selectFields(kind Kind) string {
	if kind == User {
		return "id,displayName,userPrincipalName,mail"
	}
	return "id,displayName"
}

// graphQuery encodes OData options, leaving the "$" of their names as it
// is and spaces as %20, the way Graph's documentation writes them.
func graphQuery(params ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(params); i += 2 {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(params[i])
		b.WriteByte('=')
		b.WriteString(strings.ReplaceAll(url.QueryEscape(params[i+1]), "+", "%20"))
	}
	return "?" + b.String()
}

// quoteOData quotes s as an OData string literal: single quotes doubled.
func quoteOData(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// toObject converts what Graph returned.
func (o graphObject) toObject(kind Kind) Object {
	obj := Object{Kind: kind, ID: o.ID, DisplayName: o.DisplayName}
	if kind == User {
		obj.UserPrincipalName, obj.Mail = o.UserPrincipalName, o.Mail
	}
	return obj
}

// Lookup implements Directory. Users are addressed directly by id or
// userPrincipalName; groups and devices by id when the key is a GUID, and
// by an exact displayName filter otherwise (or when no object has that id).
func (d *graphDirectory) Lookup(ctx context.Context, kind Kind, key string) (*Object, error) {
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	if key == "" {
		return nil, emptyKey(kind)
	}
	if strings.Trim(key, ".") == "" {
		// "." and ".." would name another path once in the URL.
		return nil, notFound(kind, key)
	}
	var found *Object
	if kind == User || isGUID(key) {
		var o graphObject
		err := d.c.get(ctx, "/"+collection(kind)+"/"+url.PathEscape(key)+graphQuery("$select", selectFields(kind)), notFound(kind, key), &o)
		switch {
		case err == nil:
			obj := o.toObject(kind)
			found = &obj
		case !isNotFound(err) || kind == User:
			return nil, err
		}
	}
	if found == nil {
		var page graphPage
		q := graphQuery("$filter", "displayName eq "+quoteOData(key), "$select", selectFields(kind), "$top", "2")
		if err := d.c.get(ctx, "/"+collection(kind)+q, notFound(kind, key), &page); err != nil {
			return nil, err
		}
		switch len(page.Value) {
		case 0:
			return nil, notFound(kind, key)
		case 1:
			obj := page.Value[0].toObject(kind)
			found = &obj
		default:
			return nil, runbooker.Errorf(runbooker.EINVALID, "directory: more than one %s is named %q; look it up by id", kind, key)
		}
	}
	if kind == Device {
		owner, err := d.primaryUser(ctx, found.ID)
		if err != nil {
			return nil, err
		}
		found.PrimaryUser = owner
	}
	return found, nil
}

// primaryUser is the first user among a device's registered owners.
func (d *graphDirectory) primaryUser(ctx context.Context, deviceID string) (string, error) {
	var page graphPage
	err := d.c.get(ctx, "/devices/"+url.PathEscape(deviceID)+"/registeredOwners"+graphQuery("$select", "id"), notFound(Device, deviceID), &page)
	if err != nil {
		return "", err
	}
	for _, o := range page.Value {
		if o.Type == "" || o.Type == "#microsoft.graph.user" {
			return o.ID, nil
		}
	}
	return "", nil
}

// Search implements Directory with startswith filters (see graphDirectory).
func (d *graphDirectory) Search(ctx context.Context, kind Kind, query string, limit int) ([]Object, error) {
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	limit, err := checkLimit(limit)
	if err != nil {
		return nil, err
	}
	params := []string{"$select", selectFields(kind), "$top", strconv.Itoa(min(limit, 999))}
	if query != "" {
		q := quoteOData(query)
		filter := "startswith(displayName," + q + ")"
		if kind == User {
			filter += " or startswith(userPrincipalName," + q + ")"
		}
		params = append([]string{"$filter", filter}, params...)
	}
	var page graphPage
	if err := d.c.get(ctx, "/"+collection(kind)+graphQuery(params...), notFound(kind, query), &page); err != nil {
		return nil, err
	}
	out := make([]Object, 0, len(page.Value))
	for _, o := range page.Value {
		out = append(out, o.toObject(kind))
	}
	slices.SortFunc(out, func(a, b Object) int { return compareObjects(&a, &b) })
	if len(out) > limit {
		out = out[:limit]
	}
	if kind == Device {
		for i := range out {
			if out[i].PrimaryUser, err = d.primaryUser(ctx, out[i].ID); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// MemberOf implements Directory through transitiveMemberOf, following
// @odata.nextLink until the last page.
func (d *graphDirectory) MemberOf(ctx context.Context, kind Kind, id string) ([]string, error) {
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	if strings.Trim(id, ".") == "" {
		return nil, runbooker.Errorf(runbooker.ENOTFOUND, "directory: no %s with id %q", kind, id)
	}
	missing := runbooker.Errorf(runbooker.ENOTFOUND, "directory: no %s with id %q", kind, id)
	ref := "/" + collection(kind) + "/" + url.PathEscape(id) + "/transitiveMemberOf/microsoft.graph.group" + graphQuery("$select", "id")
	ids := []string{}
	for pages := 0; ref != ""; pages++ {
		if pages == 1000 {
			return nil, graphUnavailable("kept sending next pages of group memberships", nil)
		}
		var page graphPage
		if err := d.c.get(ctx, ref, missing, &page); err != nil {
			return nil, err
		}
		for _, g := range page.Value {
			ids = append(ids, g.ID)
		}
		ref = page.NextLink
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// isGUID reports whether s has the shape of a GUID (Graph's object ids).
func isGUID(s string) bool {
	_, ok := parseGUID(s)
	return ok && !strings.HasPrefix(s, "{")
}
