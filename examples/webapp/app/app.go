// Package app is the example web app of examples/webapp: a home page with
// "Sign in", then the user's name and claims, a button that calls an API with
// the user's access token, and "Sign out". It is a package so that tests can
// run it in process, with the session store of their choice and as several
// instances behind one URL.
//
// Elements that tests drive have stable ids: signin, user-name, claims,
// call-api, api-result, signout.
package app

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/web"
)

// Config configures the app.
type Config struct {
	// BaseURL is the URL the app is served at, such as "http://127.0.0.1:8080".
	// The client must have BaseURL + "/callback" as a redirect URI.
	BaseURL string
	// Issuer is the OpenID provider users sign in with, such as a pixie
	// devserver's URL.
	Issuer string
	// ClientID and ClientSecret are the app's client at the provider.
	ClientID     string
	ClientSecret pixie.Secret
	// Store keeps the sessions: web/sqlitesession or web/redissession.
	Store web.SessionStore
	// APIURL is the API the "Call the API" button calls with the user's token;
	// "" means the provider's userinfo endpoint.
	APIURL string
	// HTTPClient talks to the provider and the API; nil means
	// http.DefaultClient's transport.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives the app's and the web package's failures; nil discards
	// them.
	Logger *slog.Logger
}

//go:embed page.html
var pageHTML string

//go:embed app.js
var appJS []byte

// appCSS is the page's style sheet, a file of its own because the
// Content-Security-Policy (default-src 'self') refuses inline styles.
//
//go:embed app.css
var appCSS []byte

var page = template.Must(template.New("page").Parse(pageHTML))

// New returns the app's handler. It discovers the provider's metadata, so ctx
// bounds that.
func New(ctx context.Context, cfg Config) (http.Handler, error) {
	opts := []web.Option{
		web.BaseURL(cfg.BaseURL),
		web.Store(cfg.Store),
		web.WithProvider(web.Provider{Name: "pixie", Config: pixie.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
			Endpoint:   pixie.Endpoint{Issuer: cfg.Issuer},
			HTTPClient: cfg.HTTPClient,
		}}),
		web.Clock(cfg.Now),
		web.Logger(cfg.Logger),
	}
	auth, err := web.New(ctx, opts...)
	if err != nil {
		return nil, err
	}
	apiURL := cfg.APIURL
	if apiURL == "" {
		d := pixie.Discovery{HTTPClient: cfg.HTTPClient}
		m, err := d.Discover(ctx, cfg.Issuer)
		if err != nil {
			return nil, err
		}
		if apiURL = m.UserinfoEndpoint; apiURL == "" {
			return nil, errors.New("app: the provider has no userinfo endpoint; give Config.APIURL")
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /login", auth.Login())
	mux.Handle("GET /callback", auth.Callback())
	mux.Handle("POST /logout", auth.Logout())
	mux.Handle("GET /{$}", auth.Optional(http.HandlerFunc(home)))
	mux.Handle("GET /api/me", auth.Require(callAPI(apiURL)))
	mux.Handle("GET /app.js", asset("text/javascript; charset=utf-8", appJS))
	mux.Handle("GET /app.css", asset("text/css; charset=utf-8", appCSS))
	return secureHeaders(mux), nil
}

// asset serves an embedded file of the given content type.
func asset(contentType string, body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Write(body)
	})
}

// secureHeaders sets the headers every page of the app carries: scripts and
// styles only from the app's own files (so an injected <script> or inline
// style does not apply), no framing, no MIME sniffing.
func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self' http: https:")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// home shows "Sign in", or the user, the API button and "Sign out".
func home(w http.ResponseWriter, r *http.Request) {
	data := struct {
		User      *web.User
		Claims    string
		CSRFField template.HTML
	}{User: web.UserFrom(r.Context())}
	if data.User != nil {
		b, _ := json.MarshalIndent(data.User.Claims, "", "  ")
		data.Claims = string(b)
		data.CSRFField = web.CSRFField(r)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := page.Execute(w, data); err != nil {
		http.Error(w, "cannot render the page", http.StatusInternalServerError)
	}
}

// maxAPIBody bounds the API answer the app relays.
const maxAPIBody = 64 << 10

// callAPI calls the API with the user's access token and relays the answer as
// {"status": ..., "body": ...}. The token itself never reaches the browser.
func callAPI(apiURL string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, apiURL, nil)
		if err != nil {
			http.Error(w, `{"error":"bad API URL"}`, http.StatusInternalServerError)
			return
		}
		req.Header.Set("Accept", "application/json")
		resp, err := web.UserFrom(r.Context()).Client().Do(req)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			msg := "the API call failed"
			if pixie.LoginRequired(err) {
				msg = "the session's tokens are no longer valid; sign in again"
			}
			json.NewEncoder(w).Encode(map[string]string{"error": msg})
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxAPIBody))
		json.NewEncoder(w).Encode(map[string]any{"status": resp.StatusCode, "body": json.RawMessage(validJSON(body))})
	})
}

// validJSON returns b if it is JSON, else b as a JSON string.
func validJSON(b []byte) []byte {
	if json.Valid(b) {
		return b
	}
	s, _ := json.Marshal(string(b))
	return s
}
