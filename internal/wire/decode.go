package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// TokenResponse is a decoded successful token response (RFC 6749 section 5.1, RFC
// 8693 section 2.2.1).
type TokenResponse struct {
	AccessToken     string
	TokenType       string
	RefreshToken    string
	IDToken         string
	IssuedTokenType string
	// Scope lists the granted scopes; nil when the response had no scope.
	Scope []string
	// ExpiresIn is the access token's lifetime; HasExpiresIn tells whether the
	// response gave one.
	ExpiresIn    time.Duration
	HasExpiresIn bool
	// Extra holds every other member.
	Extra map[string]any
}

// maxExpiresIn caps expires_in at 10 years; anything larger is treated as a
// server bug rather than trusted.
const maxExpiresIn = 10 * 365 * 24 * time.Hour

// DecodeToken decodes a token response body. It accepts JSON (the standard),
// application/x-www-form-urlencoded and text/plain bodies (older servers), an
// expires_in given as a number or a numeric string, a scope given as a space- or
// comma-separated string or a JSON array, and, when nested is not empty, a token
// object inside the member nested (such as Slack's "authed_user"). Errors never
// quote the body, which may hold credentials.
func DecodeToken(contentType string, body []byte, nested string) (*TokenResponse, error) {
	fields, err := decodeFields(contentType, body)
	if err != nil {
		return nil, err
	}
	if nested != "" {
		if inner, ok := fields[nested].(map[string]any); ok && inner["access_token"] != nil {
			// The outer object's token members describe another token (Slack's
			// bot token): only its other members are kept, in Extra.
			outer := fields
			fields = make(map[string]any, len(inner)+len(outer))
			for k, v := range outer {
				if k != nested && !tokenMembers[k] {
					fields[k] = v
				}
			}
			for k, v := range inner {
				fields[k] = v
			}
		}
	}
	return tokenFromFields(fields)
}

// tokenMembers are the members of a token response that describe the token.
var tokenMembers = map[string]bool{
	"access_token": true, "token_type": true, "refresh_token": true, "id_token": true,
	"issued_token_type": true, "expires_in": true, "scope": true,
}

// decodeFields parses the body by its media type. JSON is tried for JSON types,
// text/plain and a missing type; a form body for form types, and for text/plain
// that is not JSON.
func decodeFields(contentType string, body []byte) (map[string]any, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil && contentType != "" {
		return nil, fmt.Errorf("unreadable Content-Type %q", contentType)
	}
	isJSON := mt == "application/json" || strings.HasSuffix(mt, "+json")
	switch {
	case isJSON, mt == "text/plain", mt == "", mt == "text/javascript":
		var fields map[string]any
		d := json.NewDecoder(bytes.NewReader(body))
		d.UseNumber()
		if err := d.Decode(&fields); err == nil && fields != nil {
			if d.More() {
				return nil, errors.New("token response has trailing data after the JSON object")
			}
			return fields, nil
		} else if isJSON {
			return nil, errors.New("token response is not a JSON object")
		}
		if mt == "" || mt == "text/plain" {
			return formFields(body)
		}
		return nil, fmt.Errorf("token response of type %s is not JSON", mt)
	case mt == "application/x-www-form-urlencoded":
		return formFields(body)
	}
	return nil, fmt.Errorf("token response has unsupported Content-Type %s", mt)
}

func formFields(body []byte) (map[string]any, error) {
	v, err := url.ParseQuery(string(body))
	if err != nil || len(v) == 0 {
		return nil, errors.New("token response is neither JSON nor form-encoded")
	}
	fields := make(map[string]any, len(v))
	for k, vs := range v {
		fields[k] = vs[0]
	}
	return fields, nil
}

func tokenFromFields(fields map[string]any) (*TokenResponse, error) {
	t := &TokenResponse{}
	var err error
	str := func(name string) string {
		v, ok := fields[name]
		delete(fields, name)
		if !ok || v == nil {
			return ""
		}
		s, isStr := v.(string)
		if !isStr && err == nil {
			err = fmt.Errorf("token response member %s is %s, not a string", name, jsonKind(v))
		}
		return s
	}
	t.AccessToken = str("access_token")
	t.TokenType = str("token_type")
	t.RefreshToken = str("refresh_token")
	t.IDToken = str("id_token")
	t.IssuedTokenType = str("issued_token_type")
	if err != nil {
		return nil, err
	}
	if t.AccessToken == "" {
		return nil, errors.New("token response has no access_token")
	}
	if v, ok := fields["expires_in"]; ok && v != nil {
		d, err := parseSeconds(v)
		if err != nil {
			return nil, fmt.Errorf("token response expires_in %w", err)
		}
		t.ExpiresIn, t.HasExpiresIn = d, true
	}
	delete(fields, "expires_in")
	if v, ok := fields["scope"]; ok && v != nil {
		s, err := parseScope(v)
		if err != nil {
			return nil, err
		}
		t.Scope = s
	}
	delete(fields, "scope")
	t.Extra = plainJSON(fields).(map[string]any)
	return t, nil
}

// parseSeconds accepts a JSON number or a numeric string of seconds, capped at
// maxExpiresIn; a negative number counts as 0.
func parseSeconds(v any) (time.Duration, error) {
	var f float64
	var err error
	switch v := v.(type) {
	case json.Number:
		f, err = v.Float64()
	case float64:
		f = v
	case string:
		f, err = strconv.ParseFloat(strings.TrimSpace(v), 64)
	default:
		return 0, fmt.Errorf("is %s, not a number of seconds", jsonKind(v))
	}
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errors.New("is not a number of seconds")
	}
	if f < 0 {
		// A server bug; the token is kept (it may carry a new refresh token) and
		// counts as expired.
		return 0, nil
	}
	if f > maxExpiresIn.Seconds() {
		return maxExpiresIn, nil
	}
	return time.Duration(f * float64(time.Second)), nil
}

// parseScope accepts the standard space-separated string (RFC 6749 section 3.3),
// a comma-separated one, or a JSON array of strings.
func parseScope(v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		return SplitScope(v), nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, errors.New("token response scope array holds a non-string")
			}
			out = append(out, SplitScope(s)...)
		}
		return out, nil
	}
	return nil, fmt.Errorf("token response scope is %s, not a string", jsonKind(v))
}

// SplitScope splits a scope string on spaces and commas, dropping empty parts.
func SplitScope(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })
	if f == nil {
		return []string{}
	}
	return f
}

// plainJSON turns json.Number values into float64, so Extra holds the types
// encoding/json produces by default.
func plainJSON(v any) any {
	switch v := v.(type) {
	case json.Number:
		f, _ := v.Float64()
		return f
	case map[string]any:
		for k, e := range v {
			v[k] = plainJSON(e)
		}
		return v
	case []any:
		for i, e := range v {
			v[i] = plainJSON(e)
		}
		return v
	}
	return v
}

func jsonKind(v any) string {
	switch v.(type) {
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	}
	return "null"
}
