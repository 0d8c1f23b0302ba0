package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"maps"
	"net/http"
	"strconv"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/oidc"
)

// Errors a sign-in fails with, shown (by [ErrorPage]) to the user.
var (
	// ErrNoLogin means the callback came to a browser that has no sign-in in
	// progress: it expired, was finished already (a replayed callback), or was
	// started by someone else (login CSRF, RFC 6749 section 10.12).
	ErrNoLogin = errors.New("web: no sign-in is in progress in this browser (it expired or was already used); sign in again")
	// ErrUnknownProvider means Login was asked for a provider the Web does not
	// have.
	ErrUnknownProvider = errors.New("web: unknown sign-in provider")
)

// Login returns the handler that starts a sign-in (RFC 6749 section 4.1.1):
// it makes a fresh state, PKCE S256 verifier (RFC 7636) and, for an OpenID
// provider, nonce, keeps them on the server under a new random id that only a
// cookie of this browser holds, and redirects the browser to the provider.
//
// Query parameters: provider names the provider (it may be left out when there
// is one); return_to is the path to come back to once signed in, kept only if
// [SafeReturnTo] accepts it. GET and POST are accepted.
func (w *Web) Login() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			rw.Header().Set("Allow", "GET, POST")
			w.fail(rw, r, http.StatusMethodNotAllowed, errors.New("web: sign in with GET or POST"))
			return
		}
		returnTo := SafeReturnTo(r.FormValue("return_to"))
		if returnTo == "" {
			returnTo = "/"
		}
		name := r.FormValue("provider")
		if name == "" && len(w.names) > 1 {
			w.choose(rw, returnTo)
			return
		}
		p, err := w.provider(name)
		if err != nil {
			w.fail(rw, r, http.StatusBadRequest, err)
			return
		}
		ar, err := p.cfg.NewAuthRequest(r.Context())
		if err != nil {
			w.logger.Error("web: cannot start a sign-in", "provider", p.name, "error", err)
			w.fail(rw, r, http.StatusBadGateway, fmt.Errorf("web: cannot start a sign-in with %s; try again later", p.name))
			return
		}
		now := w.now()
		s := &session{Created: now, LastSeen: now, Login: pendingFrom(p.name, returnTo, ar)}
		id := newID()
		if _, err := w.save(r.Context(), storeKey(id), s, "", now.Add(w.loginTimeout), 0); err != nil {
			w.storeFailed(rw, r, err)
			return
		}
		w.setCookie(rw, w.loginCookie, id, w.loginTimeout)
		http.Redirect(rw, r, ar.URL, http.StatusSeeOther)
	})
}

var chooserTemplate = template.Must(template.New("choose").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head>
<body><h1>Sign in</h1><ul>
{{range .}}<li><a id="signin-{{.Name}}" href="{{.URL}}">Sign in with {{.Name}}</a></li>
{{end}}</ul></body></html>
`))

// choose answers Login without a provider when there are several: a page
// with a link to sign in with each.
func (w *Web) choose(rw http.ResponseWriter, returnTo string) {
	type choice struct{ Name, URL string }
	var cs []choice
	for _, n := range w.names {
		cs = append(cs, choice{n, w.LoginURL(n, returnTo)})
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.Header().Set("Cache-Control", "no-store")
	_ = chooserTemplate.Execute(rw, cs)
}

// provider returns the provider called name, or the only one when name is "".
func (w *Web) provider(name string) (*provider, error) {
	if name == "" && len(w.names) == 1 {
		name = w.names[0]
	}
	p, ok := w.providers[name]
	if !ok {
		return nil, fmt.Errorf("%w %q; this app offers %q", ErrUnknownProvider, name, w.names)
	}
	return p, nil
}

// Callback returns the handler of the provider's redirect back to the app
// (RFC 6749 section 4.1.2). It finds the sign-in this browser started from its
// login cookie and ends it, so that a callback is used at most once; checks the
// response's state (RFC 6749 section 10.12), iss (RFC 9207) and error; redeems
// the code with the PKCE verifier; verifies the ID token with the nonce (OpenID
// Connect Core section 3.1.3.7) or, for other providers, asks the user API who
// signed in; and starts a session under a new id (so no id chosen before the
// sign-in, by anyone, becomes signed in), ending the browser's previous
// session. The browser is then sent to the return_to path Login was given.
func (w *Web) Callback() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		w.clearCookie(rw, w.loginCookie)
		c, err := r.Cookie(w.loginCookie)
		if err != nil || !validID(c.Value) {
			w.fail(rw, r, http.StatusBadRequest, ErrNoLogin)
			return
		}
		key := storeKey(c.Value)
		rec, _, err := w.store.Load(ctx, key)
		if errors.Is(err, ErrNoSession) {
			w.fail(rw, r, http.StatusBadRequest, ErrNoLogin)
			return
		}
		if err != nil {
			w.storeFailed(rw, r, err)
			return
		}
		// The sign-in is used up whatever the outcome: a callback replayed
		// later finds nothing.
		if err := w.store.Delete(ctx, key); err != nil {
			w.storeFailed(rw, r, err)
			return
		}
		s, err := decodeSession(rec.Data)
		if err != nil || s.Login == nil {
			w.fail(rw, r, http.StatusBadRequest, ErrNoLogin)
			return
		}
		login := s.Login
		p, err := w.provider(login.Provider)
		if err != nil {
			w.fail(rw, r, http.StatusBadRequest, err)
			return
		}
		ar := login.authRequest()
		tok, err := p.cfg.HandleCallback(ctx, ar, r.URL.Query())
		if err != nil {
			w.callbackFailed(rw, r, p, err)
			return
		}
		u, err := w.identify(ctx, p, tok, ar.Nonce)
		if err != nil {
			w.logger.Warn("web: cannot tell who signed in", "provider", p.name, "error", err)
			w.fail(rw, r, http.StatusBadGateway, fmt.Errorf("web: %s did not tell who signed in; sign in again", p.name))
			return
		}
		if err := w.startSession(rw, r, p, u, tok); err != nil {
			w.storeFailed(rw, r, err)
			return
		}
		http.Redirect(rw, r, login.ReturnTo, http.StatusSeeOther)
	})
}

// callbackFailed answers a callback whose response or code exchange failed.
func (w *Web) callbackFailed(rw http.ResponseWriter, r *http.Request, p *provider, err error) {
	var pe *pixie.Error
	switch {
	case errors.Is(err, pixie.ErrStateMismatch), errors.Is(err, pixie.ErrIssuerMismatch), errors.Is(err, pixie.ErrNoCode):
		w.fail(rw, r, http.StatusBadRequest, err)
	case errors.As(err, &pe) && pe.Op == "authorization":
		w.fail(rw, r, http.StatusForbidden, fmt.Errorf("web: %s refused the sign-in: %s", p.name, pe.Code))
	default:
		w.logger.Warn("web: code exchange failed", "provider", p.name, "error", err)
		w.fail(rw, r, http.StatusBadGateway, fmt.Errorf("web: %s did not accept the sign-in (%v); sign in again", p.name, err))
	}
}

// identity is who signed in.
type identity struct {
	subject, name, email string
	claims               map[string]any
}

// identify tells who tok belongs to: from its verified ID token and the
// userinfo endpoint for an OpenID provider, from the user API otherwise.
func (w *Web) identify(ctx context.Context, p *provider, tok *pixie.Token, nonce string) (*identity, error) {
	if p.verifier != nil {
		idt, err := p.verifier.VerifyToken(ctx, tok, oidc.WithNonce(nonce))
		if err != nil {
			return nil, err
		}
		claims := map[string]any{}
		if err := idt.Claims(&claims); err != nil {
			return nil, err
		}
		if ep := p.cfg.Endpoint.UserinfoURL; ep != "" {
			var opts []oidc.UserInfoOption
			opts = append(opts, oidc.WithSubject(idt.Subject))
			if p.cfg.AllowInsecureHTTP {
				opts = append(opts, oidc.AllowInsecureHTTP())
			}
			ui, err := oidc.UserInfo(ctx, p.cfg.HTTPClient, ep, tok, opts...)
			if err != nil {
				return nil, err
			}
			more := map[string]any{}
			if err := ui.Claims(&more); err != nil {
				return nil, err
			}
			// The ID token's claims win: they are signed.
			maps.Copy(more, claims)
			claims = more
		}
		return identityFrom(claims, idt.Subject), nil
	}
	claims, err := w.fetchUser(ctx, p, tok)
	if err != nil {
		return nil, err
	}
	var sub string
	switch v := claims["sub"].(type) {
	case string:
		sub = v
	}
	if sub == "" {
		switch v := claims["id"].(type) {
		case string:
			sub = v
		case float64:
			sub = strconv.FormatFloat(v, 'f', -1, 64)
		}
	}
	if sub == "" {
		return nil, errors.New("the user API's answer has neither sub nor id")
	}
	return identityFrom(claims, sub), nil
}

func identityFrom(claims map[string]any, sub string) *identity {
	str := func(names ...string) string {
		for _, n := range names {
			if s, ok := claims[n].(string); ok && s != "" {
				return s
			}
		}
		return ""
	}
	return &identity{subject: sub, name: str("name", "login", "preferred_username"), email: str("email"),
		claims: claims}
}

// maxUserBody bounds the user API's answer.
const maxUserBody = 1 << 20

// fetchUser asks a provider's user API who tok belongs to.
func (w *Web) fetchUser(ctx context.Context, p *provider, tok *pixie.Token) (map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.userURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	client := p.cfg.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := (&http.Client{Transport: &pixie.Transport{Source: staticSource{tok}, Base: client.Transport},
		Timeout: client.Timeout}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the user API answered HTTP %d", resp.StatusCode)
	}
	claims := map[string]any{}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxUserBody)).Decode(&claims); err != nil {
		return nil, fmt.Errorf("the user API's answer is not a JSON object: %w", err)
	}
	return claims, nil
}

// staticSource serves one token.
type staticSource struct{ tok *pixie.Token }

func (s staticSource) Token(context.Context) (*pixie.Token, error) { return s.tok, nil }

// startSession stores a new session for u under a new id, sets its cookie, and
// ends the session the browser had before, if any.
func (w *Web) startSession(rw http.ResponseWriter, r *http.Request, p *provider, u *identity, tok *pixie.Token) error {
	now := w.now()
	s := &session{Created: now, LastSeen: now, Provider: p.name, Subject: u.subject, Name: u.name, Email: u.email,
		Claims: u.claims, CSRF: newID()}
	if err := s.setToken(tok); err != nil {
		return err
	}
	id := newID()
	if _, err := w.save(r.Context(), storeKey(id), s, subjectKey(p.name, u.subject), w.expiry(s), 0); err != nil {
		return err
	}
	if old, err := r.Cookie(w.sessionCookie); err == nil && validID(old.Value) {
		if err := w.deleteSession(r.Context(), storeKey(old.Value)); err != nil {
			w.logger.Warn("web: cannot end the session replaced by a sign-in", "error", err)
		}
	}
	w.setCookie(rw, w.sessionCookie, id, w.absolute)
	return nil
}

// expiry is when s ends: idle time after it was last seen, but no later than
// the absolute timeout after it began.
func (w *Web) expiry(s *session) time.Time {
	idle, abs := s.LastSeen.Add(w.idle), s.Created.Add(w.absolute)
	if abs.Before(idle) {
		return abs
	}
	return idle
}
