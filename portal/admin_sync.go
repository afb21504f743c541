package portal

import (
	"net/http"
	"time"

	"github.com/runbooker/runbooker/gitsync"
	rbhttp "github.com/runbooker/runbooker/http"
)

// syncData is the sync page: the sources with their last sync, and the
// reports of a sync just run.
type syncData struct {
	Sources []syncSource
	Reports []*gitsync.Report
}

// syncSource is a source as the page lists it.
type syncSource struct {
	gitsync.SourceView
	Every string // the interval, "" when synced on request only
}

func (p *Portal) handleAdminSync(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	p.showSync(w, r, me, &adminPage{}, nil)
}

func (p *Portal) showSync(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView, pg *adminPage, reports []*gitsync.Report) {
	var out rbhttp.SyncSourcesResponse
	if err := p.call(r, http.MethodGet, "/api/v1/sync/sources", nil, &out); err != nil {
		if statusOf(err) != http.StatusServiceUnavailable {
			p.adminFail(w, r, me, err)
			return
		}
		pg.Problem = messageOf(err) // sync is not enabled on this server
	}
	d := &syncData{Reports: reports}
	for _, src := range out.Sources {
		row := syncSource{SourceView: src}
		if src.Interval > 0 {
			row.Every = time.Duration(src.Interval).String()
		}
		d.Sources = append(d.Sources, row)
	}
	pg.Body = d
	p.renderAdmin(w, r, me, http.StatusOK, "admin_sync", "Sync", "/admin/sync", pg)
}

func (p *Portal) handleAdminSyncRun(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	var out rbhttp.SyncResponse
	in := rbhttp.SyncRequest{Source: r.PostFormValue("source")}
	if err := p.call(r, http.MethodPost, "/api/v1/sync", in, &out); err != nil {
		if statusOf(err) == http.StatusForbidden {
			p.adminFail(w, r, me, err)
			return
		}
		p.showSync(w, r, me, &adminPage{Problem: messageOf(err)}, nil)
		return
	}
	p.showSync(w, r, me, &adminPage{Notice: "Sync finished."}, out.Reports)
}
