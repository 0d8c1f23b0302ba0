package pixie

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/pixieauth/pixie/internal/wire"
)

// Error is an OAuth 2.0 error: an error response from a token, device authorization,
// revocation, introspection or PAR endpoint (RFC 6749 section 5.2), an authorization
// error redirected to the client (RFC 6749 section 4.1.2.1), or a failed exchange
// with such an endpoint (an HTTP error status, an unreadable body, a network error).
//
// pixie's client and its devserver share this one type. Compare with the sentinel
// values using errors.Is, which matches on Code:
//
//	if errors.Is(err, pixie.ErrInvalidGrant) { ... }
//
// Use [LoginRequired] and [Temporary] to decide what to do next.
type Error struct {
	// Code is the RFC 6749 "error" value, such as "invalid_grant". It is empty when
	// the server gave no OAuth error (for example a 502 from a proxy).
	Code string
	// Description is the server's "error_description", for developers.
	Description string
	// URI is the server's "error_uri".
	URI string

	// Op names what was attempted: "token", "device authorization",
	// "revocation", "introspection", "authorization" and so on.
	Op string
	// StatusCode is the HTTP status of the response, or 0 when none was received.
	StatusCode int
	// Body is the start of the raw response body (at most [MaxErrorBody] bytes), for
	// diagnosing a server that answered with something other than an OAuth error.
	// It is kept only for error responses, never for successful ones.
	Body []byte
	// RetryAfter is the delay the server asked for with Retry-After (429, 503), or 0.
	RetryAfter time.Duration
	// Err is the underlying cause, such as a network or decoding error.
	Err error
}

// MaxErrorBody bounds [Error.Body].
const MaxErrorBody = 4 << 10

// RFC 6749, RFC 8628, RFC 7009, RFC 8693, RFC 6750, RFC 9449 and OpenID Connect error
// codes. errors.Is(err, ErrX) reports whether err is an *Error with that code.
var (
	ErrInvalidRequest          = &Error{Code: "invalid_request"}           // RFC 6749 5.2
	ErrInvalidClient           = &Error{Code: "invalid_client"}            // RFC 6749 5.2
	ErrInvalidGrant            = &Error{Code: "invalid_grant"}             // RFC 6749 5.2
	ErrUnauthorizedClient      = &Error{Code: "unauthorized_client"}       // RFC 6749 5.2
	ErrUnsupportedGrantType    = &Error{Code: "unsupported_grant_type"}    // RFC 6749 5.2
	ErrInvalidScope            = &Error{Code: "invalid_scope"}             // RFC 6749 5.2
	ErrAccessDenied            = &Error{Code: "access_denied"}             // RFC 6749 4.1.2.1, RFC 8628 3.5
	ErrUnsupportedResponseType = &Error{Code: "unsupported_response_type"} // RFC 6749 4.1.2.1
	ErrServerError             = &Error{Code: "server_error"}              // RFC 6749 4.1.2.1
	ErrTemporarilyUnavailable  = &Error{Code: "temporarily_unavailable"}   // RFC 6749 4.1.2.1
	ErrAuthorizationPending    = &Error{Code: "authorization_pending"}     // RFC 8628 3.5
	ErrSlowDown                = &Error{Code: "slow_down"}                 // RFC 8628 3.5
	ErrExpiredToken            = &Error{Code: "expired_token"}             // RFC 8628 3.5
	ErrUnsupportedTokenType    = &Error{Code: "unsupported_token_type"}    // RFC 7009 2.2.1
	ErrInvalidTarget           = &Error{Code: "invalid_target"}            // RFC 8693 2.2.2, RFC 8707
	ErrInvalidToken            = &Error{Code: "invalid_token"}             // RFC 6750 3.1
	ErrInsufficientScope       = &Error{Code: "insufficient_scope"}        // RFC 6750 3.1
	ErrInvalidDPoPProof        = &Error{Code: "invalid_dpop_proof"}        // RFC 9449 5
	ErrUseDPoPNonce            = &Error{Code: "use_dpop_nonce"}            // RFC 9449 8
	ErrInteractionRequired     = &Error{Code: "interaction_required"}      // OIDC Core 3.1.2.6
	ErrLoginRequired           = &Error{Code: "login_required"}            // OIDC Core 3.1.2.6
	ErrConsentRequired         = &Error{Code: "consent_required"}          // OIDC Core 3.1.2.6
	ErrInvalidRequestURI       = &Error{Code: "invalid_request_uri"}       // RFC 9126, OIDC Core
	ErrRequestNotSupported     = &Error{Code: "request_not_supported"}     // OIDC Core 3.1.2.6
	ErrInvalidClientMetadata   = &Error{Code: "invalid_client_metadata"}   // RFC 7591 3.2.2
	ErrInvalidRedirectURI      = &Error{Code: "invalid_redirect_uri"}      // RFC 7591 3.2.2
)

// Error returns a one-line message naming the operation, the OAuth error code and
// description, and the HTTP status.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("oauth2")
	if e.Op != "" {
		b.WriteString(": ")
		b.WriteString(e.Op)
	}
	switch {
	case e.Code != "":
		b.WriteString(": ")
		b.WriteString(e.Code)
		if e.Description != "" {
			b.WriteString(": ")
			b.WriteString(e.Description)
		}
	case e.Err != nil:
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	case e.StatusCode != 0:
		b.WriteString(": unexpected response")
	}
	if e.StatusCode != 0 {
		b.WriteString(" (HTTP ")
		b.WriteString(strconv.Itoa(e.StatusCode))
		b.WriteString(")")
	}
	if e.Code != "" && e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same non-empty Code, so that
// errors.Is(err, ErrInvalidGrant) works for every invalid_grant response.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code != "" && t.Code == e.Code
}

// MarshalJSON encodes the RFC 6749 section 5.2 error response body: "error",
// "error_description" and "error_uri". The devserver writes errors with it.
func (e *Error) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Code        string `json:"error"`
		Description string `json:"error_description,omitempty"`
		URI         string `json:"error_uri,omitempty"`
	}{e.Code, e.Description, e.URI})
}

// LoginRequired reports whether err means the user (or the client) must
// authenticate again: the grant was rejected (invalid_grant: a refresh token
// expired, revoked or reused), the device code expired, the user denied access,
// or the server asked for interaction. Retrying the same request will not help.
func LoginRequired(err error) bool {
	for _, s := range []*Error{ErrInvalidGrant, ErrExpiredToken, ErrAccessDenied,
		ErrLoginRequired, ErrInteractionRequired, ErrConsentRequired} {
		if errors.Is(err, s) {
			return true
		}
	}
	return errors.Is(err, ErrNoToken)
}

// Temporary reports whether err is a transient failure worth retrying later with
// backoff: an HTTP 5xx or 429 response, a server_error or temporarily_unavailable
// code, or a transport failure that may pass (a timeout, an HTTP client's
// included; a refused, reset or dropped connection; a temporary DNS failure). A
// certificate that does not verify and a cancelled context are not temporary.
// Callers whose own context has ended should stop regardless. [RetryAfter] tells
// how long the server asked the client to wait.
func Temporary(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return wire.Temporary(e.Code, e.StatusCode, e.Err)
	}
	return wire.Temporary("", 0, err)
}

// RetryAfter returns the delay the server asked for in a Retry-After header of an
// error response, and whether it gave one.
func RetryAfter(err error) (time.Duration, bool) {
	var e *Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		return e.RetryAfter, true
	}
	return 0, false
}

// ErrNoToken is returned when no token is available and none can be obtained
// without the user: nothing stored, or no refresh token to refresh with.
// [LoginRequired] reports true for it.
var ErrNoToken = errors.New("pixie: no token; log in first")
