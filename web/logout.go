package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
)

// Logout returns the handler that signs the user out, for a POST from the
// app's own page (a form with [CSRFField]): it refuses (403) a request from
// another site (Sec-Fetch-Site, Origin) or without the session's CSRF token,
// so a third-party page cannot sign a user out. It then revokes the session's
// tokens at the provider when it has a revocation endpoint (RFC 7009; a failure
// is logged and does not stop the sign-out), deletes the session, clears the
// cookie, and sends the browser to the provider's end_session_endpoint when it
// has one (OpenID Connect RP-Initiated Logout 1.0 section 2, with
// id_token_hint, client_id and post_logout_redirect_uri), otherwise straight
// to the AfterLogout path.
func (w *Web) Logout() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			rw.Header().Set("Allow", "POST")
			w.fail(rw, r, http.StatusMethodNotAllowed, errors.New("web: sign out with a POST form from this site"))
			return
		}
		if err := w.crossOrigin.Check(r); err != nil {
			w.fail(rw, r, http.StatusForbidden, errCSRF)
			return
		}
		u, err := w.authenticate(rw, r)
		if err != nil {
			w.storeFailed(rw, r, err)
			return
		}
		after := w.origin + w.afterLogoutPath
		if u == nil {
			// Nobody is signed in: nothing to protect, nothing to end.
			http.Redirect(rw, r, after, http.StatusSeeOther)
			return
		}
		if err := w.checkCSRF(r, u); err != nil {
			w.fail(rw, r, http.StatusForbidden, err)
			return
		}
		ctx := r.Context()
		w.revoke(ctx, u)
		if err := w.deleteSession(ctx, u.key); err != nil {
			w.storeFailed(rw, r, err)
			return
		}
		w.clearCookie(rw, w.sessionCookie)
		if es := u.p.endSession; es != "" {
			q := url.Values{"client_id": {u.p.cfg.ClientID}, "post_logout_redirect_uri": {after}}
			if u.tok != nil && !u.tok.IDToken.IsZero() {
				q.Set("id_token_hint", u.tok.IDToken.Reveal())
			}
			if eu, err := url.Parse(es); err == nil {
				old := eu.Query()
				for k, v := range q {
					old[k] = v
				}
				eu.RawQuery = old.Encode()
				http.Redirect(rw, r, eu.String(), http.StatusSeeOther)
				return
			}
		}
		http.Redirect(rw, r, after, http.StatusSeeOther)
	})
}

// revoke revokes the user's tokens at the provider, if it has a revocation
// endpoint, logging a failure.
func (w *Web) revoke(ctx context.Context, u *User) {
	if u.p.cfg.Endpoint.RevocationURL == "" {
		return
	}
	tok, _, err := (&sessionTokens{w: w}).Load(ctx, u.key)
	if err != nil {
		return
	}
	if err := u.p.cfg.RevokeToken(ctx, tok); err != nil {
		w.logger.Warn("web: revoking the tokens at sign-out failed", "provider", u.p.name, "error", err)
	}
}

// SignOutEverywhere ends every session of u's user at u's provider, on every
// replica sharing the session store, and returns how many it ended. The tokens
// of the other sessions are not revoked at the provider.
func (w *Web) SignOutEverywhere(ctx context.Context, u *User) (int, error) {
	if u == nil {
		return 0, errors.New("web: SignOutEverywhere: no user")
	}
	return w.store.DeleteSubject(ctx, subjectKey(u.Provider, u.Subject))
}
