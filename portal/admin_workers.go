package portal

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/runbooker/runbooker/bashparse"
	rbhttp "github.com/runbooker/runbooker/http"
)

// workersData is the workers page: every group with its workers, and, right
// after a rotation, the new token with install commands (the server keeps
// only the token's hash, so it is never shown again).
type workersData struct {
	Groups  []rbhttp.GroupView
	Rotated *rotated
}

type rotated struct {
	Group, Token, Linux, Windows string
	PlainHTTP                    bool // workers refuse plain http to another machine without --insecure
}

func (p *Portal) handleAdminWorkers(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	p.showWorkers(w, r, me, &adminPage{})
}

func (p *Portal) showWorkers(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView, d *adminPage) {
	var out struct {
		Groups []rbhttp.GroupView `json:"groups"`
	}
	if err := p.call(r, http.MethodGet, "/api/v1/groups", nil, &out); err != nil {
		p.adminFail(w, r, me, err)
		return
	}
	body, _ := d.Body.(*workersData)
	if body == nil {
		body = &workersData{}
	}
	body.Groups = out.Groups
	d.Body = body
	p.renderAdmin(w, r, me, http.StatusOK, "admin_workers", "Workers", "/admin/workers", d)
}

func (p *Portal) handleAdminRotate(w http.ResponseWriter, r *http.Request, me *rbhttp.MeView) {
	group := r.PathValue("group")
	var tv rbhttp.TokenView
	if err := p.call(r, http.MethodPost, "/api/v1/groups/"+url.PathEscape(group)+"/rotate-token", nil, &tv); err != nil {
		if statusOf(err) == http.StatusForbidden {
			p.adminFail(w, r, me, err)
			return
		}
		p.showWorkers(w, r, me, &adminPage{Problem: messageOf(err)})
		return
	}
	server := serverURL(r)
	rot := &rotated{Group: group, Token: tv.Token,
		Linux: linuxInstall(server, group, tv.Token), Windows: windowsInstall(server, group, tv.Token),
		PlainHTTP: strings.HasPrefix(server, "http:")}
	p.showWorkers(w, r, me, &adminPage{Notice: "New registration token for " + group + ". Copy it now: it is not shown again. The old token no longer registers workers.",
		Body: &workersData{Rotated: rot}})
}

// serverURL is this server's address as the browser reached it.
func serverURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// psQuote quotes s for PowerShell (single-quoted string).
func psQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// linuxInstall is a copy-paste installation of a worker as a systemd
// service: the token goes in a root-only file, and `runbooker worker
// install` writes the hardened unit and starts it.
func linuxInstall(server, group, token string) string {
	return `sudo install -d -m 700 /etc/runbooker
printf '%s\n' ` + bashparse.Quote(token) + ` | sudo tee /etc/runbooker/token >/dev/null
sudo chmod 600 /etc/runbooker/token
sudo /usr/local/bin/runbooker worker install --server ` + bashparse.Quote(server) + ` --group ` + bashparse.Quote(group) + ` --token-file /etc/runbooker/token`
}

// windowsInstall is the same for Windows, in an elevated PowerShell:
// `runbooker worker install` registers a Windows service that drains its
// jobs when stopped and restarts after a failure.
func windowsInstall(server, group, token string) string {
	return `New-Item -ItemType Directory -Force C:\ProgramData\Runbooker | Out-Null
Set-Content -NoNewline -Path C:\ProgramData\Runbooker\token -Value ` + psQuote(token) + `
icacls C:\ProgramData\Runbooker /inheritance:r /grant:r "SYSTEM:(OI)(CI)F" "Administrators:(OI)(CI)F" | Out-Null
& 'C:\Program Files\Runbooker\runbooker.exe' worker install --server ` + psQuote(server) + ` --group ` + psQuote(group) + ` --token-file C:\ProgramData\Runbooker\token`
}
