package devserver

import (
	"html/template"
	"net/http"

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
{{if .ClientName}}{{template "asks" .}}{{end}}
<p>Enter the code shown on your device{{if not .Username}} and sign in{{end}}.</p>
<form method="post" action="{{.Action}}" id="device">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<label for="user_code">Code</label><input type="text" id="user_code" name="user_code" value="{{.UserCode}}" autocomplete="off">
{{if .Username}}<p>Signed in as <strong>{{.Username}}</strong>.</p>{{else}}
<label for="username">Username</label><input type="text" id="username" name="username" autocomplete="username">
<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password">{{end}}
<button type="submit" name="action" value="approve">Allow</button>
<button type="submit" name="action" value="deny">Deny</button>
</form>{{end}}{{template "foot" .}}{{end}}

{{define "error"}}{{template "head" .}}
<p>The request cannot be completed, and the client cannot be told safely, because its redirect URI is unknown.</p>
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

// errorPage tells the user about a request that cannot be redirected back to the
// client (RFC 6749 section 4.1.2.1).
func errorPage(w http.ResponseWriter, r *http.Request, e *pixie.Error) {
	if info := infoFrom(r); info != nil {
		info.errorCode = e.Code
	}
	render(w, http.StatusBadRequest, "error", page{Title: "Invalid request", Error: e.Code + ": " + e.Description})
}
