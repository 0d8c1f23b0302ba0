package oidc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	josejson "github.com/go-jose/go-jose/v4/json"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/internal/wire"
)

// UserInfoOption is an option of [UserInfo].
type UserInfoOption interface {
	applyUserInfo(*userInfoOptions)
}

type userInfoOptions struct {
	subject       string
	allowInsecure bool
	verifier      *Verifier
}

type userInfoOptionFunc func(*userInfoOptions)

func (f userInfoOptionFunc) applyUserInfo(o *userInfoOptions) { f(o) }

// WithSubject requires the response's sub to equal sub, the subject of the
// verified ID token, as OpenID Connect Core section 5.3.2 demands before the
// response is used. An empty sub checks nothing.
func WithSubject(sub string) UserInfoOption {
	return userInfoOptionFunc(func(o *userInfoOptions) { o.subject = sub })
}

// AllowInsecureHTTP permits an http:// userinfo endpoint on a host other than
// loopback. Without it such an endpoint is refused: the access token would cross
// the network in the clear.
func AllowInsecureHTTP() UserInfoOption {
	return userInfoOptionFunc(func(o *userInfoOptions) { o.allowInsecure = true })
}

// WithVerifier accepts signed userinfo responses (Content-Type application/jwt,
// OpenID Connect Core section 5.3.2), verifying them with v's issuer keys: the
// signature (any asymmetric algorithm v could accept, never "none" or HMAC), a
// typ header naming no other kind of JWT (such as at+jwt), iss equal to v's
// issuer and aud containing v's client ID. Without it such a response is
// refused. Encrypted responses are always refused.
func WithVerifier(v *Verifier) UserInfoOption {
	return userInfoOptionFunc(func(o *userInfoOptions) { o.verifier = v })
}

// User is a userinfo response (OpenID Connect Core section 5.3.2) with the
// standard claims most applications use (section 5.1).
type User struct {
	Subject           string // sub
	Name              string // name
	PreferredUsername string // preferred_username
	Email             string // email
	// EmailVerified is email_verified; a "true" string, which some servers send,
	// counts as true.
	EmailVerified bool
	Picture       string // picture

	payload []byte
}

// Claims decodes the response's claims (its JSON object) into v, for claims User
// does not hold.
func (u *User) Claims(v any) error {
	if err := json.Unmarshal(u.payload, v); err != nil {
		return fmt.Errorf("oidc: userinfo claims: %w", err)
	}
	return nil
}

// UserInfo fetches the claims about the user that tok's access token is for from
// the userinfo endpoint (OpenID Connect Core section 5.3), sending the token in
// the Authorization header with its type (Bearer, or DPoP when client's transport
// adds DPoP proofs). client may be nil for a client with a 30 second timeout; the
// request is bounded by 30 seconds in any case.
//
// A 401 or 403 is a *[pixie.Error] with the error code and description of the
// WWW-Authenticate header (RFC 6750 section 3), so errors.Is(err,
// pixie.ErrInvalidToken) reports an expired or revoked token. Other HTTP errors
// are *pixie.Error too. A signed (application/jwt) response is verified with
// [WithVerifier] and refused without it; an encrypted one is refused. So is a
// response without sub or, with [WithSubject], with another sub.
func UserInfo(ctx context.Context, client *http.Client, endpoint string, tok *pixie.Token, opts ...UserInfoOption) (*User, error) {
	var o userInfoOptions
	for _, opt := range opts {
		opt.applyUserInfo(&o)
	}
	if tok == nil || tok.AccessToken.IsZero() {
		return nil, errors.New("oidc: userinfo: no access token")
	}
	if err := wire.CheckURL(endpoint, o.allowInsecure); err != nil {
		return nil, fmt.Errorf("oidc: userinfo endpoint: %w", err)
	}
	if client == nil {
		client = defaultClient
	}
	client = wire.GuardRedirects(client, o.allowInsecure)
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return nil, fmt.Errorf("oidc: userinfo: %w", err)
	}
	req.Header.Set("Authorization", tok.Type()+" "+tok.AccessToken.Reveal())
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, &pixie.Error{Op: "userinfo", Err: err}
	}
	defer resp.Body.Close()
	body, err := wire.ReadBody(resp.Body)
	if err != nil {
		return nil, &pixie.Error{Op: "userinfo", StatusCode: resp.StatusCode, Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, userInfoError(resp, body)
	}
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mediaType == "application/jwt" {
		if body, err = o.verifyJWT(ctx, endpoint, body); err != nil {
			return nil, err
		}
	}
	return decodeUser(body, &o)
}

// verifyJWT verifies a signed userinfo response with the configured verifier and
// returns its claims.
func (o *userInfoOptions) verifyJWT(ctx context.Context, endpoint string, body []byte) ([]byte, error) {
	raw := string(bytes.TrimSpace(body))
	switch {
	case strings.Count(raw, ".") == 4:
		return nil, fmt.Errorf("oidc: userinfo %s answered with an encrypted JWT, which pixie does not decrypt; register the client without userinfo_encrypted_response_alg", endpoint)
	case o.verifier == nil:
		return nil, fmt.Errorf("oidc: userinfo %s answered with a signed JWT (application/jwt); pass oidc.WithVerifier to verify it, or register the client for plain JSON responses (no userinfo_signed_response_alg)", endpoint)
	}
	v := o.verifier
	payload, _, err := v.verifyJWT(ctx, raw, supportedAlgorithms)
	if err != nil {
		var r *refusedError
		if errors.As(err, &r) {
			return nil, fmt.Errorf("oidc: signed userinfo response refused: %s", r.msg)
		}
		return nil, err
	}
	var claims jwt.Claims
	if err := josejson.Unmarshal(payload, &claims); err != nil {
		return nil, fmt.Errorf("oidc: signed userinfo response: claims: %v", err)
	}
	if claims.Issuer != v.issuer {
		return nil, fmt.Errorf("oidc: signed userinfo response refused: iss %q is not the expected issuer %q", claims.Issuer, v.issuer)
	}
	if !claims.Audience.Contains(v.clientID) {
		return nil, fmt.Errorf("oidc: signed userinfo response refused: aud %q does not contain the client ID %q", []string(claims.Audience), v.clientID)
	}
	return payload, nil
}

func decodeUser(body []byte, o *userInfoOptions) (*User, error) {
	var claims struct {
		Subject           string          `json:"sub"`
		Name              string          `json:"name"`
		PreferredUsername string          `json:"preferred_username"`
		Email             string          `json:"email"`
		EmailVerified     json.RawMessage `json:"email_verified"`
		Picture           string          `json:"picture"`
	}
	if b := bytes.TrimSpace(body); len(b) == 0 || b[0] != '{' {
		return nil, errors.New("oidc: userinfo response is not a JSON object")
	}
	if err := json.Unmarshal(body, &claims); err != nil {
		return nil, fmt.Errorf("oidc: userinfo response: %w", err)
	}
	if claims.Subject == "" {
		return nil, errors.New("oidc: userinfo response has no sub claim (OpenID Connect Core section 5.3.2 requires it)")
	}
	if o.subject != "" && claims.Subject != o.subject {
		return nil, fmt.Errorf("oidc: userinfo sub %q does not match the ID token's sub %q; the response must not be used (OpenID Connect Core section 5.3.2)", claims.Subject, o.subject)
	}
	verified := string(claims.EmailVerified)
	return &User{
		Subject:           claims.Subject,
		Name:              claims.Name,
		PreferredUsername: claims.PreferredUsername,
		Email:             claims.Email,
		EmailVerified:     verified == "true" || verified == `"true"`,
		Picture:           claims.Picture,
		payload:           body,
	}, nil
}

// userInfoError describes a failed userinfo response, taking the OAuth error from
// the WWW-Authenticate header (RFC 6750 section 3) or, failing that, a JSON body.
func userInfoError(resp *http.Response, body []byte) error {
	e := &pixie.Error{Op: "userinfo", StatusCode: resp.StatusCode, Body: body[:min(len(body), pixie.MaxErrorBody)]}
	params := authParams(resp.Header.Values("WWW-Authenticate"))
	e.Code, e.Description, e.URI = params["error"], params["error_description"], params["error_uri"]
	if e.Code == "" {
		var oauthErr struct {
			Code        string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(body, &oauthErr) == nil {
			e.Code, e.Description = oauthErr.Code, oauthErr.Description
		}
	}
	if e.Code == "" && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) {
		e.Err = errors.New("the access token was refused")
	}
	return e
}

// authParams returns the auth-params of WWW-Authenticate challenges (RFC 9110
// section 11.6.1), the first value of each name winning. Names are lowercased.
// Scheme names and token68 credentials are skipped, and so is any character that
// fits nowhere, so a malformed challenge cannot hide a later one.
func authParams(challenges []string) map[string]string {
	params := map[string]string{}
	for _, c := range challenges {
		s := c
		for {
			s = strings.TrimLeft(s, " \t,")
			if s == "" {
				break
			}
			name, rest, ok := cutToken(s)
			if !ok {
				s = s[1:]
				continue
			}
			rest = strings.TrimLeft(rest, " \t")
			eq := len(rest) - len(strings.TrimLeft(rest, "="))
			after := strings.TrimLeft(rest[eq:], " \t")
			if eq == 0 || eq > 1 || after == "" || after[0] == ',' {
				// A scheme name, or a token68 with its "=" padding.
				s = after
				continue
			}
			var value string
			if after[0] == '"' {
				value, s = cutQuoted(after[1:])
			} else {
				value, s, _ = cutToken(after)
			}
			if _, seen := params[strings.ToLower(name)]; !seen {
				params[strings.ToLower(name)] = value
			}
		}
	}
	return params
}

// cutToken splits a leading RFC 9110 token from s.
func cutToken(s string) (token, rest string, ok bool) {
	i := strings.IndexFunc(s, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r)
	})
	if i < 0 {
		i = len(s)
	}
	return s[:i], s[i:], i > 0
}

// cutQuoted splits the rest of a quoted-string (after its opening quote) from s,
// undoing backslash escapes. An unterminated string runs to the end of s.
func cutQuoted(s string) (value, rest string) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), s[i+1:]
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), ""
}
