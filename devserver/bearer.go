package devserver

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/pixieauth/pixie"
)

// requireToken checks that r carries token as a bearer token in the
// Authorization header (RFC 6750 section 2.1). When it does not, requireToken
// answers 401 with a Bearer challenge (RFC 6750 section 3), error
// "invalid_token" when a wrong token was sent, and returns false. A zero
// token requires nothing. what names the token in the error description.
func requireToken(w http.ResponseWriter, r *http.Request, token pixie.Secret, what string) bool {
	if token.IsZero() {
		return true
	}
	scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || got == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="pixie devserver"`)
		writeError(w, r, oauthError(pixie.ErrInvalidToken, "send the %s as a bearer token in the Authorization header", what))
		return false
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(token.Reveal())) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="pixie devserver", error="invalid_token"`)
		writeError(w, r, oauthError(pixie.ErrInvalidToken, "wrong %s", what))
		return false
	}
	return true
}
