package pixie_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
)

func TestErrorMessage(t *testing.T) {
	cause := errors.New("read tcp: connection reset by peer")
	tests := []struct {
		name string
		err  *pixie.Error
		want string
	}{
		{"zero", &pixie.Error{}, "oauth2"},
		{"code only", &pixie.Error{Code: "invalid_grant"}, "oauth2: invalid_grant"},
		{
			"code, description, op and status",
			&pixie.Error{Op: "token", Code: "invalid_grant", Description: "refresh token expired", StatusCode: 400},
			"oauth2: token: invalid_grant: refresh token expired (HTTP 400)",
		},
		{
			"code and cause",
			&pixie.Error{Op: "token", Code: "invalid_client", StatusCode: 401, Err: cause},
			"oauth2: token: invalid_client (HTTP 401): read tcp: connection reset by peer",
		},
		{"cause only", &pixie.Error{Op: "revocation", Err: cause}, "oauth2: revocation: read tcp: connection reset by peer"},
		{"cause and status", &pixie.Error{Op: "token", StatusCode: 200, Err: errors.New("invalid JSON")}, "oauth2: token: invalid JSON (HTTP 200)"},
		{"status only", &pixie.Error{Op: "token", StatusCode: 502}, "oauth2: token: unexpected response (HTTP 502)"},
		{
			"body and URI stay out of the message",
			&pixie.Error{Op: "token", StatusCode: 502, Body: []byte("<html>proxy says no</html>"), URI: "https://example.com/e"},
			"oauth2: token: unexpected response (HTTP 502)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestErrorIs(t *testing.T) {
	grant := &pixie.Error{Op: "token", Code: "invalid_grant", Description: "revoked", StatusCode: 400}
	tests := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"same code", grant, pixie.ErrInvalidGrant, true},
		{"sentinel itself", pixie.ErrInvalidGrant, pixie.ErrInvalidGrant, true},
		{"wrapped once", fmt.Errorf("refresh: %w", grant), pixie.ErrInvalidGrant, true},
		{"wrapped twice", fmt.Errorf("store: %w", fmt.Errorf("refresh: %w", grant)), pixie.ErrInvalidGrant, true},
		{"joined", errors.Join(io.EOF, grant), pixie.ErrInvalidGrant, true},
		{"own code", &pixie.Error{Code: "vendor_specific"}, &pixie.Error{Code: "vendor_specific"}, true},
		{"different code", grant, pixie.ErrInvalidClient, false},
		{"different sentinels", pixie.ErrExpiredToken, pixie.ErrAccessDenied, false},
		{"empty codes", &pixie.Error{StatusCode: 502}, &pixie.Error{StatusCode: 502}, false},
		{"empty target code", grant, &pixie.Error{}, false},
		{"not an Error", grant, io.EOF, false},
		{"plain error", io.EOF, pixie.ErrInvalidGrant, false},
		{"nil", nil, pixie.ErrInvalidGrant, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(tt.err, tt.target); got != tt.want {
				t.Errorf("errors.Is(%v, %v) = %t, want %t", tt.err, tt.target, got, tt.want)
			}
		})
	}
}

func TestErrorUnwrap(t *testing.T) {
	op := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	err := fmt.Errorf("refresh: %w", &pixie.Error{Op: "token", Err: op})
	if got := errors.Unwrap(&pixie.Error{Err: io.ErrUnexpectedEOF}); got != io.ErrUnexpectedEOF {
		t.Errorf("Unwrap() = %v, want io.ErrUnexpectedEOF", got)
	}
	if got := (&pixie.Error{}).Unwrap(); got != nil {
		t.Errorf("Unwrap() of an Error without cause = %v, want nil", got)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe != op {
		t.Errorf("errors.As(*net.OpError) did not find the cause in %v", err)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("errors.Is(ECONNREFUSED) = false for %v", err)
	}
	var pe *pixie.Error
	if !errors.As(err, &pe) || pe.Op != "token" {
		t.Errorf("errors.As(*pixie.Error) = %v", pe)
	}
}

func TestErrorMarshalJSON(t *testing.T) {
	tests := []struct {
		name string
		err  *pixie.Error
		want string
	}{
		{
			"all members",
			&pixie.Error{Code: "invalid_request", Description: "missing code_verifier", URI: "https://example.com/errors/pkce"},
			`{"error":"invalid_request","error_description":"missing code_verifier","error_uri":"https://example.com/errors/pkce"}`,
		},
		{
			"code only; client-side fields left out",
			&pixie.Error{Code: "slow_down", Op: "token", StatusCode: 400, Body: []byte("raw"), RetryAfter: time.Second, Err: io.EOF},
			`{"error":"slow_down"}`,
		},
		{
			"description escaped",
			&pixie.Error{Code: "invalid_scope", Description: `scope "admin" <not> allowed`},
			`{"error":"invalid_scope","error_description":"scope \"admin\" \u003cnot\u003e allowed"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.err)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(b); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestErrorClassification(t *testing.T) {
	opErr := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name          string
		err           error
		loginRequired bool
		temporary     bool
		retryAfter    time.Duration // 0: none
	}{
		{name: "invalid_grant", err: &pixie.Error{Op: "token", Code: "invalid_grant", StatusCode: 400}, loginRequired: true},
		{name: "wrapped invalid_grant", err: fmt.Errorf("refresh: %w", &pixie.Error{Code: "invalid_grant", StatusCode: 400}), loginRequired: true},
		{name: "expired_token", err: &pixie.Error{Op: "token", Code: "expired_token", StatusCode: 400}, loginRequired: true},
		{name: "access_denied", err: &pixie.Error{Op: "authorization", Code: "access_denied"}, loginRequired: true},
		{name: "login_required", err: &pixie.Error{Op: "authorization", Code: "login_required"}, loginRequired: true},
		{name: "interaction_required", err: &pixie.Error{Op: "authorization", Code: "interaction_required"}, loginRequired: true},
		{name: "consent_required", err: &pixie.Error{Op: "authorization", Code: "consent_required"}, loginRequired: true},
		{name: "ErrNoToken", err: pixie.ErrNoToken, loginRequired: true},
		{name: "wrapped ErrNoToken", err: fmt.Errorf("store: %w", pixie.ErrNoToken), loginRequired: true},
		{name: "invalid_client", err: &pixie.Error{Op: "token", Code: "invalid_client", StatusCode: 401}},
		{name: "authorization_pending", err: &pixie.Error{Op: "token", Code: "authorization_pending", StatusCode: 400}},
		{name: "400 without code", err: &pixie.Error{Op: "token", StatusCode: 400}},
		{name: "500", err: &pixie.Error{Op: "token", StatusCode: 500}, temporary: true},
		{name: "502 from a proxy", err: &pixie.Error{Op: "token", StatusCode: 502, Body: []byte("<html>")}, temporary: true},
		{name: "503 with Retry-After", err: &pixie.Error{Op: "token", StatusCode: 503, RetryAfter: 2 * time.Minute}, temporary: true, retryAfter: 2 * time.Minute},
		{name: "429 with Retry-After", err: &pixie.Error{Op: "token", StatusCode: 429, RetryAfter: 30 * time.Second}, temporary: true, retryAfter: 30 * time.Second},
		{name: "wrapped 429", err: fmt.Errorf("refresh: %w", &pixie.Error{StatusCode: 429, RetryAfter: time.Second}), temporary: true, retryAfter: time.Second},
		{name: "429 without Retry-After", err: &pixie.Error{Op: "token", StatusCode: 429}, temporary: true},
		{name: "server_error with 400", err: &pixie.Error{Op: "token", Code: "server_error", StatusCode: 400}, temporary: true},
		{name: "temporarily_unavailable redirected", err: &pixie.Error{Op: "authorization", Code: "temporarily_unavailable"}, temporary: true},
		{name: "net.OpError", err: opErr, temporary: true},
		{name: "net.OpError in an Error", err: &pixie.Error{Op: "token", Err: opErr}, temporary: true},
		{name: "DNS error", err: &net.DNSError{Err: "no such host", Name: "as.example.com", IsTemporary: true}, temporary: true},
		{name: "context.Canceled", err: context.Canceled},
		{name: "context.DeadlineExceeded (a timeout)", err: context.DeadlineExceeded, temporary: true},
		{name: "Canceled in an Error", err: &pixie.Error{Op: "token", Err: context.Canceled}},
		{name: "DeadlineExceeded wrapped", err: fmt.Errorf("refresh: %w", &pixie.Error{Op: "token", Err: context.DeadlineExceeded}), temporary: true},
		{name: "decoding error", err: &pixie.Error{Op: "token", StatusCode: 200, Err: errors.New("invalid JSON")}},
		{name: "plain error", err: errors.New("boom")},
		{name: "connection dropped mid-response", err: &pixie.Error{Op: "token", Err: io.ErrUnexpectedEOF}, temporary: true},
		{name: "file error", err: &os.PathError{Op: "open", Path: "/x", Err: os.ErrNotExist}},
		{name: "nil", err: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pixie.LoginRequired(tt.err); got != tt.loginRequired {
				t.Errorf("LoginRequired() = %t, want %t", got, tt.loginRequired)
			}
			if got := pixie.Temporary(tt.err); got != tt.temporary {
				t.Errorf("Temporary() = %t, want %t", got, tt.temporary)
			}
			if tt.loginRequired && tt.temporary {
				t.Error("test case claims both LoginRequired and Temporary")
			}
			d, ok := pixie.RetryAfter(tt.err)
			if got, want := ok, tt.retryAfter > 0; got != want {
				t.Errorf("RetryAfter() ok = %t, want %t", got, want)
			}
			if d != tt.retryAfter {
				t.Errorf("RetryAfter() = %v, want %v", d, tt.retryAfter)
			}
		})
	}
}
