package wire_test

import (
	"errors"
	"testing"

	"github.com/pixieauth/pixie/internal/wire"
)

func TestErrorMessage(t *testing.T) {
	cause := errors.New("dial tcp: connection refused")
	tests := []struct {
		err  *wire.Error
		want string
	}{
		{&wire.Error{Op: "token", Code: "invalid_grant", Description: "expired", StatusCode: 400}, "token: invalid_grant: expired"},
		{&wire.Error{Op: "token", Code: "invalid_grant", StatusCode: 400}, "token: invalid_grant"},
		{&wire.Error{Op: "revocation", Err: cause}, "revocation: dial tcp: connection refused"},
		{&wire.Error{Op: "token", StatusCode: 502, Body: []byte("<html>")}, "token: HTTP 502"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	if !errors.Is(&wire.Error{Op: "token", Err: cause}, cause) {
		t.Error("errors.Is does not reach the cause")
	}
}
