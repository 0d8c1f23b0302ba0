package devserver

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"

	"github.com/pixieauth/pixie"
)

// The pages share one layout. Field names are part of the documented form
// contract (see the package documentation): a test or a command-line tool can fill
// them with net/http.
var pages = template.Must(template.New("layout").Parse(`{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} · pixie devserver</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}
label{display:block;margin:.8rem 0 .2rem}input[type=text],input[type=password]{width:100%;padding:.4rem}
button{margin:1rem .5rem 0 0;padding:.4rem 1rem}.error{color:#b00020}.note{color:#666;font-size:.85rem}</style>
</head><body><h1>{{.Title}}</h1>{{if .Error}}<p class="error" id="error">{{.Error}}</p>{{end}}{{end}}
{{define "foot"}}<p class="note">pixie development server, not for production.</p></body></html>{{end}}

{{define "login"}}{{template "head" .}}
<p>Sign in to continue to <strong>{{.ClientName}}</strong>.</p>
<form method="post" action="{{.Action}}" id="login">
<input type="hidden" name="request_id" value="{{.RequestID}}">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<label for="username">Username</label><input type="text" id="username" name="username" autocomplete="username" autofocus>
<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password">
<button type="submit">Sign in</button>
</form>{{template "foot" .}}{{end}}

{{define "asks"}}<p><strong>{{.ClientName}}</strong> asks for access{{if .Scope}} with the scopes:{{end}}</p>
{{if .Scope}}<ul>{{range .Scope}}<li><code>{{.}}</code></li>{{end}}</ul>{{end}}{{end}}

{{define "consent"}}{{template "head" .}}
<p>Signed in as <strong>{{.Username}}</strong>.</p>
{{template "asks" .}}
<form method="post" action="{{.Action}}" id="consent">
<input type="hidden" name="request_id" value="{{.RequestID}}">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<button type="submit" name="action" value="approve">Allow</button>
<button type="submit" name="action" value="deny">Deny</button>
</form>{{template "foot" .}}{{end}}

{{define "device"}}{{template "head" .}}
{{if .Done}}<p id="done">{{.Done}}</p>{{else}}
{{if .ClientName}}{{template "asks" .}}{{else}}<p>Enter the code shown on your device{{if not .Username}} and sign in{{end}}; the next page names the application that asks for access.</p>{{end}}
<form method="post" action="{{.Action}}" id="device">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<label for="user_code">Code</label><input type="text" id="user_code" name="user_code" value="{{.UserCode}}" autocomplete="off">
{{if .Username}}<p>Signed in as <strong>{{.Username}}</strong>.</p>{{else}}
<label for="username">Username</label><input type="text" id="username" name="username" autocomplete="username">
<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password">{{end}}
{{if .ClientName}}<button type="submit" name="action" value="approve">Allow</button>
<button type="submit" name="action" value="deny">Deny</button>{{else}}
<button type="submit" name="action" value="continue">Continue</button>{{end}}
</form>{{end}}{{template "foot" .}}{{end}}

{{define "error"}}{{template "head" .}}
<p>The request cannot be completed, and the application is not told.</p>
{{template "foot" .}}{{end}}
`))

// page is the data of every page.
type page struct {
	Title      string
	Error      string
	Action     string
	RequestID  string
	CSRF       string
	ClientName string
	Username   string
	Scope      []string
	UserCode   string
	Done       string
}

// render writes the named page with no-store caching and a framing ban.
func render(w http.ResponseWriter, status int, name string, p page) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(status)
	pages.ExecuteTemplate(w, name, p)
}

// pageStatus puts the message of err, if any, on p and returns the page's
// status: 200 without error, 429 for a guesser locked out (tooManyGuesses),
// otherwise wrong.
func pageStatus(err error, wrong int, p *page) int {
	if err == nil {
		return http.StatusOK
	}
	p.Error = err.Error()
	if errors.As(err, new(tooManyGuesses)) {
		return http.StatusTooManyRequests
	}
	return wrong
}

// errorPage tells the user about a request that cannot be redirected back to the
// client (RFC 6749 section 4.1.2.1), with status 400.
func errorPage(w http.ResponseWriter, r *http.Request, e *pixie.Error) {
	errorPageStatus(w, r, http.StatusBadRequest, e)
}

// errorPageStatus is errorPage with another status.
func errorPageStatus(w http.ResponseWriter, r *http.Request, status int, e *pixie.Error) {
	if info := infoFrom(r); info != nil {
		info.errorCode = e.Code
	}
	render(w, status, "error", page{Title: "Invalid request", Error: e.Code + ": " + e.Description})
}

// formPost parses a POST of one of the pages' forms, after refusing one sent
// cross-origin, by a page of another site or of another port on this host
// (which counts as the same site for SameSite cookies). The check is that of
// [http.CrossOriginProtection]: with Sec-Fetch-Site, only same-origin and none
// (the user's own action) pass; without it, the Origin header must name this
// server (its Host, or the issuer's origin behind a proxy). A request with
// neither header comes from a program such as [Browser] or from a browser too
// old to send them, and passes: its csrf_token must still be the one rendered
// for that browser. On failure formPost has shown an error page.
func (s *Server) formPost(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if err := s.crossOrigin.Check(r); err != nil {
		errorPageStatus(w, r, http.StatusForbidden, oauthError(pixie.ErrInvalidRequest,
			"a form of another site or origin was posted here; open this server's page and submit its form"))
		return nil, false
	}
	form, err := parseForm(w, r)
	if err != nil {
		errorPage(w, r, err.(*pixie.Error)) // parseForm fails only with *pixie.Error
		return nil, false
	}
	return form, true
}
