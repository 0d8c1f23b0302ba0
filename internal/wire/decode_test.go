package wire_test

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pixieauth/pixie/internal/wire"
)

// secretToken is the access token of the test bodies; no error may quote it.
const secretToken = "AT-very-secret-token"

func TestDecodeToken(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		nested      string
		want        wire.TokenResponse
	}{
		{
			name: "JSON", contentType: "application/json; charset=utf-8",
			body: `{"access_token":"` + secretToken + `","token_type":"Bearer","expires_in":3600,"refresh_token":"r",` +
				`"id_token":"i","scope":"a b","issued_token_type":"urn:x","extra":{"n":[1,"s"]}}`,
			want: wire.TokenResponse{AccessToken: secretToken, TokenType: "Bearer", RefreshToken: "r", IDToken: "i",
				IssuedTokenType: "urn:x", Scope: []string{"a", "b"}, ExpiresIn: time.Hour, HasExpiresIn: true,
				Extra: map[string]any{"extra": map[string]any{"n": []any{1.0, "s"}}}},
		},
		{
			name: "JSON subtype", contentType: "application/vnd.example+json",
			body: `{"access_token":"a"}`,
			want: wire.TokenResponse{AccessToken: "a", Extra: map[string]any{}},
		},
		{
			name: "no Content-Type, JSON", contentType: "",
			body: `{"access_token":"a","token_type":"bearer"}`,
			want: wire.TokenResponse{AccessToken: "a", TokenType: "bearer", Extra: map[string]any{}},
		},
		{
			name: "no Content-Type, form", contentType: "",
			body: `access_token=a&token_type=bearer`,
			want: wire.TokenResponse{AccessToken: "a", TokenType: "bearer", Extra: map[string]any{}},
		},
		{
			name: "text/javascript", contentType: "text/javascript",
			body: `{"access_token":"a"}`,
			want: wire.TokenResponse{AccessToken: "a", Extra: map[string]any{}},
		},
		{
			name: "form", contentType: "application/x-www-form-urlencoded",
			body: `access_token=a%2Bb&token_type=bearer&scope=user%2Crepo&expires_in=28800&refresh_token=r&refresh_token_expires_in=15811200`,
			want: wire.TokenResponse{AccessToken: "a+b", TokenType: "bearer", RefreshToken: "r", Scope: []string{"user", "repo"},
				ExpiresIn: 8 * time.Hour, HasExpiresIn: true, Extra: map[string]any{"refresh_token_expires_in": "15811200"}},
		},
		{
			name: "text/plain JSON", contentType: "text/plain; charset=ISO-8859-1",
			body: `{"access_token":"a","scope":"x"}`,
			want: wire.TokenResponse{AccessToken: "a", Scope: []string{"x"}, Extra: map[string]any{}},
		},
		{
			name: "text/plain form", contentType: "text/plain",
			body: `access_token=a&expires_in=60`,
			want: wire.TokenResponse{AccessToken: "a", ExpiresIn: time.Minute, HasExpiresIn: true, Extra: map[string]any{}},
		},
		{
			name: "nulls are absent", contentType: "application/json",
			body: `{"access_token":"a","refresh_token":null,"expires_in":null,"scope":null}`,
			want: wire.TokenResponse{AccessToken: "a", Extra: map[string]any{}},
		},
		{
			name: "nested member", contentType: "application/json", nested: "authed_user",
			body: `{"ok":true,"access_token":"bot","token_type":"bot","refresh_token":"bot-r","expires_in":60,"scope":"chat",` +
				`"authed_user":{"id":"U1","access_token":"user","token_type":"user","scope":"search"}}`,
			want: wire.TokenResponse{AccessToken: "user", TokenType: "user", Scope: []string{"search"},
				Extra: map[string]any{"ok": true, "id": "U1"}},
		},
		{
			name: "nested member without a token", contentType: "application/json", nested: "authed_user",
			body: `{"access_token":"bot","authed_user":{"id":"U1"}}`,
			want: wire.TokenResponse{AccessToken: "bot", Extra: map[string]any{"authed_user": map[string]any{"id": "U1"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := wire.DecodeToken(tt.contentType, []byte(tt.body), tt.nested)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("DecodeToken() = %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestDecodeTokenExpiresIn(t *testing.T) {
	tenYears := 10 * 365 * 24 * time.Hour
	tests := []struct {
		value   string
		want    time.Duration
		wantErr string
	}{
		{`3600`, time.Hour, ""},
		{`"3600"`, time.Hour, ""},
		{`" 3600 "`, time.Hour, ""},
		{`59.5`, 59500 * time.Millisecond, ""},
		{`"1.5"`, 1500 * time.Millisecond, ""},
		{`0`, 0, ""},
		{`3.6e3`, time.Hour, ""},
		{`1e30`, tenYears, ""},
		{`"99999999999999999999"`, tenYears, ""},
		{`-1`, 0, ""},
		{`"-60"`, 0, ""},
		{`true`, 0, "boolean"},
		{`{}`, 0, "object"},
		{`[3600]`, 0, "array"},
		{`"soon"`, 0, "not a number"},
		{`"NaN"`, 0, "not a number"},
		{`"Inf"`, 0, "not a number"},
		{`""`, 0, "not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			got, err := wire.DecodeToken("application/json", []byte(`{"access_token":"`+secretToken+`","expires_in":`+tt.value+`}`), "")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "expires_in") {
					t.Errorf("err = %v, want one about expires_in containing %q", err, tt.wantErr)
				}
				checkNoToken(t, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.HasExpiresIn || got.ExpiresIn != tt.want {
				t.Errorf("ExpiresIn = %v (%t), want %v", got.ExpiresIn, got.HasExpiresIn, tt.want)
			}
		})
	}
}

func TestDecodeTokenScope(t *testing.T) {
	tests := []struct {
		value   string
		want    []string
		wantErr string
	}{
		{`"read write"`, []string{"read", "write"}, ""},
		{`"read,write"`, []string{"read", "write"}, ""},
		{`"read, write  admin"`, []string{"read", "write", "admin"}, ""},
		{`["read","write"]`, []string{"read", "write"}, ""},
		{`["read write"]`, []string{"read", "write"}, ""},
		{`""`, []string{}, ""},
		{`[]`, []string{}, ""},
		{`["read",1]`, nil, "non-string"},
		{`42`, nil, "number"},
		{`{"a":1}`, nil, "object"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			got, err := wire.DecodeToken("application/json", []byte(`{"access_token":"`+secretToken+`","scope":`+tt.value+`}`), "")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %v, want one containing %q", err, tt.wantErr)
				}
				checkNoToken(t, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Scope, tt.want) || got.Scope == nil {
				t.Errorf("Scope = %#v, want %#v", got.Scope, tt.want)
			}
		})
	}
}

func TestDecodeTokenErrors(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		wantErr     string
	}{
		{"no access_token", "application/json", `{"token_type":"Bearer","refresh_token":"` + secretToken + `"}`, "no access_token"},
		{"empty access_token", "application/json", `{"access_token":""}`, "no access_token"},
		{"access_token not a string", "application/json", `{"access_token":["` + secretToken + `"]}`, "access_token is an array"},
		{"token_type not a string", "application/json", `{"access_token":"` + secretToken + `","token_type":1}`, "token_type is a number"},
		{"refresh_token not a string", "application/json", `{"access_token":"` + secretToken + `","refresh_token":{"v":"x"}}`, "refresh_token is an object"},
		{"JSON array", "application/json", `["` + secretToken + `"]`, "not a JSON object"},
		{"JSON null", "application/json", `null`, "not a JSON object"},
		{"garbage JSON", "application/json", `{"access_token":"` + secretToken + `"`, "not a JSON object"},
		{"empty JSON body", "application/json", ``, "not a JSON object"},
		{"trailing object", "application/json", `{"access_token":"` + secretToken + `"} {"x":1}`, "trailing data"},
		{"trailing garbage", "text/plain", `{"access_token":"` + secretToken + `"}garbage`, "trailing data"},
		{"HTML", "text/html", `<p>` + secretToken + `</p>`, "unsupported Content-Type text/html"},
		{"XML", "application/xml", `<token>` + secretToken + `</token>`, "unsupported Content-Type"},
		{"unreadable Content-Type", "application/json; =", `{"access_token":"` + secretToken + `"}`, "Content-Type"},
		{"empty form", "application/x-www-form-urlencoded", ``, "neither JSON nor form"},
		{"bad form escape", "application/x-www-form-urlencoded", `access_token=` + secretToken + `&x=%zz`, "neither JSON nor form"},
		{"plain text", "text/plain", `Service ` + secretToken + ` unavailable`, "no access_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := wire.DecodeToken(tt.contentType, []byte(tt.body), "")
			if err == nil {
				t.Fatalf("DecodeToken() = %+v, want an error", got)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			checkNoToken(t, err)
		})
	}
	t.Run("trailing whitespace is fine", func(t *testing.T) {
		if _, err := wire.DecodeToken("application/json", []byte("{\"access_token\":\"a\"}\r\n\t "), ""); err != nil {
			t.Error(err)
		}
	})
}

func checkNoToken(tb testing.TB, err error) {
	tb.Helper()
	if err != nil && strings.Contains(err.Error(), secretToken) {
		tb.Errorf("error %q reveals the access token", err)
	}
}

// FuzzDecodeToken checks that DecodeToken never panics, returns a token only
// with an access token, and never quotes the body in an error.
func FuzzDecodeToken(f *testing.F) {
	for _, seed := range []struct{ contentType, body, nested string }{
		{"application/json", `{"access_token":"a","token_type":"Bearer","expires_in":3600,"scope":"x y"}`, ""},
		{"application/json", `{"access_token":"a","expires_in":"3600","scope":["x","y"]}`, ""},
		{"application/json", `{"access_token":"a","expires_in":1e400}`, ""},
		{"application/json", `{"access_token":"a","expires_in":-1}`, ""},
		{"application/json", `{"ok":true,"authed_user":{"access_token":"u","scope":"s"}}`, "authed_user"},
		{"application/json", `{"access_token":"a"} trailing`, ""},
		{"application/x-www-form-urlencoded", "access_token=a&scope=x%2Cy&expires_in=60", ""},
		{"text/plain", "access_token=a&token_type=bearer", ""},
		{"text/plain", `{"access_token":"a"}`, ""},
		{"", `{"access_token":{"nested":true}}`, ""},
		{"text/html", "<html></html>", ""},
		{"application/json; charset", "{}", ""},
	} {
		f.Add(seed.contentType, []byte(seed.body), seed.nested)
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte, nested string) {
		tr, err := wire.DecodeToken(contentType, body, nested)
		if err != nil {
			if tr != nil {
				t.Errorf("DecodeToken returned %+v with error %v", tr, err)
			}
			// A body long enough to be told apart must never be quoted. (The
			// Content-Type may be, in Go quotes or parsed, and a body may
			// happen to be part of it.)
			msg := strings.ReplaceAll(err.Error(), strconv.Quote(contentType), "")
			if len(body) >= 16 && strings.Contains(msg, string(body)) && !strings.Contains(contentType, string(body)) {
				t.Errorf("error %q quotes the body", err)
			}
			return
		}
		if tr.AccessToken == "" {
			t.Error("DecodeToken succeeded without an access token")
		}
		if tr.ExpiresIn < 0 {
			t.Errorf("ExpiresIn = %v, want non-negative", tr.ExpiresIn)
		}
		if _, ok := tr.Extra["access_token"]; ok {
			t.Error("Extra holds access_token")
		}
	})
}
