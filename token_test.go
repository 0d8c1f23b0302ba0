package pixie_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/pixieauth/pixie"
)

// Distinctive credential values, found by substring search if they leak.
const (
	accessValue  = "at-7d1e0c9a-access"
	refreshValue = "rt-52b8e4f1-refresh"
	idValue      = "eyJhbGciOi.id-token-3c9d.sig"
	extraValue   = "extra-credential-a41f"
)

var tokenExpiry = time.Date(2031, 5, 4, 3, 2, 1, 0, time.UTC)

func fullToken() *pixie.Token {
	return &pixie.Token{
		AccessToken:     pixie.NewSecret(accessValue),
		TokenType:       "bearer",
		RefreshToken:    pixie.NewSecret(refreshValue),
		IDToken:         pixie.NewSecret(idValue),
		Expiry:          tokenExpiry,
		Scope:           []string{"openid", "repo:read"},
		IssuedTokenType: "urn:ietf:params:oauth:token-type:access_token",
		Extra: map[string]any{
			"session_key": extraValue,
			"nested":      map[string]any{"inner": extraValue},
		},
	}
}

// assertNoCredentials fails if out holds any credential of fullToken.
func assertNoCredentials(tb testing.TB, what, out string) {
	tb.Helper()
	for _, v := range []string{accessValue, refreshValue, idValue, extraValue} {
		assertNoLeak(tb, what, out, v)
	}
}

func TestTokenType(t *testing.T) {
	tests := []struct{ issued, want string }{
		{"", "Bearer"},
		{"bearer", "Bearer"},
		{"Bearer", "Bearer"},
		{"BEARER", "Bearer"},
		{"dpop", "DPoP"},
		{"DPOP", "DPoP"},
		{"DPoP", "DPoP"},
		{"mac", "mac"},
		{"N_A", "N_A"},
	}
	for _, tt := range tests {
		t.Run(tt.issued, func(t *testing.T) {
			tok := &pixie.Token{TokenType: tt.issued}
			if got := tok.Type(); got != tt.want {
				t.Errorf("Type() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTokenValid(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	access := pixie.NewSecret(accessValue)
	tests := []struct {
		name string
		tok  *pixie.Token
		skew time.Duration
		want bool
	}{
		{"nil", nil, 0, false},
		{"no access token", &pixie.Token{Expiry: now.Add(time.Hour)}, 0, false},
		{"no expiry", &pixie.Token{AccessToken: access}, time.Minute, true},
		{"no expiry, huge skew", &pixie.Token{AccessToken: access}, 1000 * time.Hour, true},
		{"well before expiry", &pixie.Token{AccessToken: access, Expiry: now.Add(time.Hour)}, time.Minute, true},
		{"just outside skew", &pixie.Token{AccessToken: access, Expiry: now.Add(61 * time.Second)}, time.Minute, true},
		{"exactly at skew", &pixie.Token{AccessToken: access, Expiry: now.Add(time.Minute)}, time.Minute, false},
		{"inside skew", &pixie.Token{AccessToken: access, Expiry: now.Add(30 * time.Second)}, time.Minute, false},
		{"no skew, not yet expired", &pixie.Token{AccessToken: access, Expiry: now.Add(time.Nanosecond)}, 0, true},
		{"no skew, expiring now", &pixie.Token{AccessToken: access, Expiry: now}, 0, false},
		{"expired", &pixie.Token{AccessToken: access, Expiry: now.Add(-time.Second)}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.tok.Valid(now, tt.skew); got != tt.want {
				t.Errorf("Valid(now, %v) = %t, want %t", tt.skew, got, tt.want)
			}
		})
	}
}

func TestTokenExpiresIn(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		expiry time.Time
		want   time.Duration
	}{
		{"no expiry", time.Time{}, 0},
		{"future", now.Add(90 * time.Second), 90 * time.Second},
		{"past", now.Add(-time.Minute), -time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := &pixie.Token{AccessToken: pixie.NewSecret(accessValue), Expiry: tt.expiry}
			if got := tok.ExpiresIn(now); got != tt.want {
				t.Errorf("ExpiresIn() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTokenString(t *testing.T) {
	want := `Token{type=Bearer expiry=2031-05-04T03:02:01Z scope="openid repo:read" refresh_token=true id_token=true}`
	if got := fullToken().String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got, want := (&pixie.Token{AccessToken: pixie.NewSecret(accessValue)}).String(), "Token{type=Bearer refresh_token=false id_token=false}"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	var nilTok *pixie.Token
	if got, want := nilTok.String(), "<nil>"; got != want {
		t.Errorf("nil String() = %q, want %q", got, want)
	}
}

func TestTokenFormatting(t *testing.T) {
	tok := fullToken()
	type session struct {
		User  string
		Token *pixie.Token
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		for name, arg := range map[string]any{
			"pointer":           tok,
			"in a struct":       session{"alice", tok},
			"in a map":          map[string]*pixie.Token{"alice": tok},
			"in a slice":        []*pixie.Token{tok},
			"pointer to struct": &session{"alice", tok},
		} {
			t.Run(verb+" "+name, func(t *testing.T) {
				assertNoCredentials(t, verb, fmt.Sprintf(verb, arg))
			})
		}
	}
	t.Run("Sprint", func(t *testing.T) {
		got := fmt.Sprint(tok)
		assertNoCredentials(t, "Sprint", got)
		if got != tok.String() {
			t.Errorf("Sprint = %q, want String() %q", got, tok.String())
		}
	})
	t.Run("nil", func(t *testing.T) {
		if got, want := fmt.Sprintf("%v", (*pixie.Token)(nil)), "<nil>"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
}

// TestTokenValueFormatting covers Token values, not pointers: held in a struct by
// value, or dereferenced.
func TestTokenValueFormatting(t *testing.T) {
	tok := fullToken()
	type session struct{ Token pixie.Token }
	for _, verb := range []string{"%v", "%+v", "%#v"} {
		assertNoCredentials(t, verb+" value", fmt.Sprintf(verb, *tok))
		assertNoCredentials(t, verb+" struct", fmt.Sprintf(verb, session{*tok}))
	}
	b, err := json.Marshal(session{*tok})
	if err != nil {
		t.Fatal(err)
	}
	assertNoCredentials(t, "json", string(b))
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("msg", "token", *tok)
	assertNoCredentials(t, "slog", buf.String())
}

func TestTokenSlog(t *testing.T) {
	tok := fullToken()
	handlers := map[string]func(*bytes.Buffer) slog.Handler{
		"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	}
	records := map[string]func(*slog.Logger){
		"attr":   func(l *slog.Logger) { l.Info("msg", slog.Any("token", tok)) },
		"group":  func(l *slog.Logger) { l.Info("msg", slog.Group("auth", slog.Any("token", tok))) },
		"With":   func(l *slog.Logger) { l.With("token", tok).Info("msg") },
		"struct": func(l *slog.Logger) { l.Info("msg", "session", struct{ Token *pixie.Token }{tok}) },
	}
	for hname, newHandler := range handlers {
		for rname, record := range records {
			t.Run(hname+"/"+rname, func(t *testing.T) {
				var buf bytes.Buffer
				record(slog.New(newHandler(&buf)))
				out := buf.String()
				assertNoCredentials(t, "log record", out)
				if !strings.Contains(out, "Bearer") {
					t.Errorf("log record %q does not show the token type", out)
				}
			})
		}
	}
	t.Run("attributes", func(t *testing.T) {
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("msg", "token", tok)
		var rec struct {
			Token map[string]any `json:"token"`
		}
		if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{
			"type":          "Bearer",
			"expiry":        "2031-05-04T03:02:01Z",
			"scope":         "openid repo:read",
			"refresh_token": true,
		}
		if len(rec.Token) != len(want) {
			t.Errorf("token attributes = %v, want %v", rec.Token, want)
		}
		for k, v := range want {
			if rec.Token[k] != v {
				t.Errorf("token attribute %s = %v, want %v", k, rec.Token[k], v)
			}
		}
	})
	t.Run("nil", func(t *testing.T) {
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("msg", "token", (*pixie.Token)(nil))
		if !strings.Contains(buf.String(), "token=<nil>") {
			t.Errorf("log record %q does not show token=<nil>", buf.String())
		}
	})
}

func TestTokenMarshalJSON(t *testing.T) {
	tok := fullToken()
	for name, v := range map[string]any{
		"pointer":      tok,
		"field":        struct{ Token *pixie.Token }{tok},
		"map":          map[string]*pixie.Token{"alice": tok},
		"slice of ptr": []*pixie.Token{tok},
	} {
		t.Run(name, func(t *testing.T) {
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			assertNoCredentials(t, "json", string(b))
			if !json.Valid(b) {
				t.Errorf("invalid JSON %s", b)
			}
		})
	}
	t.Run("describes the token", func(t *testing.T) {
		b, err := json.Marshal(tok)
		if err != nil {
			t.Fatal(err)
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatalf("%s is not a JSON string: %v", b, err)
		}
		if s != tok.String() {
			t.Errorf("decoded %q, want String() %q", s, tok.String())
		}
	})
}

// TestTokenMarshalJSONUnusualType checks that a token type the server chose
// freely still encodes as valid JSON.
func TestTokenMarshalJSONUnusualType(t *testing.T) {
	tok := &pixie.Token{AccessToken: pixie.NewSecret(accessValue), TokenType: "odd\x7ftype"}
	b, err := json.Marshal(tok)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) {
		t.Errorf("invalid JSON %s", b)
	}
}

func TestTokenOAuth2RoundTrip(t *testing.T) {
	tok := fullToken()
	tok.TokenType = "DPoP"
	o := tok.OAuth2()
	if got, want := o.AccessToken, accessValue; got != want {
		t.Errorf("AccessToken = %q, want %q", got, want)
	}
	if got, want := o.RefreshToken, refreshValue; got != want {
		t.Errorf("RefreshToken = %q, want %q", got, want)
	}
	if got, want := o.TokenType, "DPoP"; got != want {
		t.Errorf("TokenType = %q, want %q", got, want)
	}
	if got, want := o.Type(), "DPoP"; got != want {
		t.Errorf("Type() = %q, want %q", got, want)
	}
	if !o.Expiry.Equal(tokenExpiry) {
		t.Errorf("Expiry = %v, want %v", o.Expiry, tokenExpiry)
	}
	if got, want := o.Extra("id_token"), any(idValue); got != want {
		t.Errorf("Extra(id_token) = %v, want %v", got, want)
	}
	if got, want := o.Extra("scope"), any("openid repo:read"); got != want {
		t.Errorf("Extra(scope) = %v, want %v", got, want)
	}
	if got, want := o.Extra("session_key"), any(extraValue); got != want {
		t.Errorf("Extra(session_key) = %v, want %v", got, want)
	}
	if _, present := tok.Extra["id_token"]; present {
		t.Error("OAuth2() changed the token's Extra map")
	}

	back := pixie.TokenFromOAuth2(o)
	if !back.AccessToken.Equal(tok.AccessToken) || !back.RefreshToken.Equal(tok.RefreshToken) || !back.IDToken.Equal(tok.IDToken) {
		t.Error("credentials changed in the round trip")
	}
	if got, want := back.Type(), "DPoP"; got != want {
		t.Errorf("Type() = %q, want %q", got, want)
	}
	if !back.Expiry.Equal(tokenExpiry) {
		t.Errorf("Expiry = %v, want %v", back.Expiry, tokenExpiry)
	}
	if !slices.Equal(back.Scope, tok.Scope) {
		t.Errorf("Scope = %q, want %q", back.Scope, tok.Scope)
	}
}

func TestTokenOAuth2Minimal(t *testing.T) {
	o := (&pixie.Token{AccessToken: pixie.NewSecret(accessValue)}).OAuth2()
	if got, want := o.TokenType, "Bearer"; got != want {
		t.Errorf("TokenType = %q, want %q", got, want)
	}
	if o.Extra("id_token") != nil || o.Extra("scope") != nil {
		t.Errorf("Extra holds id_token %v, scope %v; want none", o.Extra("id_token"), o.Extra("scope"))
	}
	if !o.Valid() {
		t.Error("oauth2 token without expiry is not Valid()")
	}

	back := pixie.TokenFromOAuth2(&oauth2.Token{AccessToken: accessValue})
	if got, want := back.Type(), "Bearer"; got != want {
		t.Errorf("Type() = %q, want %q", got, want)
	}
	if !back.RefreshToken.IsZero() || !back.IDToken.IsZero() || back.Scope != nil || !back.Expiry.IsZero() {
		t.Errorf("TokenFromOAuth2 invented fields: %v", back)
	}
}
