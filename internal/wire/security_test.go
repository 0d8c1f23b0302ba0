package wire_test

import (
	"strings"
	"testing"

	"github.com/pixieauth/pixie/internal/wire"
)

func TestCheckURL(t *testing.T) {
	tests := []struct {
		raw      string
		insecure bool
		wantErr  string // "" for accepted
	}{
		{"https://auth.example.com/token", false, ""},
		{"HTTPS://auth.example.com/token", false, ""},
		{"https://auth.example.com/token?tenant=acme", false, ""},
		{"http://127.0.0.1:8080/token", false, ""},
		{"http://127.8.9.10/token", false, ""},
		{"http://[::1]:8080/token", false, ""},
		{"http://localhost:8080/token", false, ""},
		{"http://LOCALHOST./token", false, ""},
		{"http://auth.localhost/token", true, ""},
		{"http://auth.localhost/token", false, "unencrypted"},
		{"http://AUTH.LOCALHOST./token", false, "unencrypted"},
		{"http://auth.example.com/token", true, ""},
		{"http://auth.example.com/token", false, "unencrypted"},
		{"http://192.168.1.10/token", false, "unencrypted"},
		{"http://[::2]/token", false, "unencrypted"},
		{"http://localhost.example.com/token", false, "unencrypted"},
		{"http://127.0.0.1.nip.io/token", false, "unencrypted"},
		{"https://user:s3cret@auth.example.com/token", false, "user info"},
		{"https://user@auth.example.com/token", true, "user info"},
		{"https://auth.example.com/token#x", false, "fragment"},
		{"https://user:s3cret@auth.example.com/token#x", false, "user info"},
		{"ftp://auth.example.com/token", true, "scheme"},
		{"auth.example.com/token", false, "no host"},
		{"/token", false, "no host"},
		{"", false, "no URL"},
		{"https://user:s3cret@auth.example.com:port/", false, "invalid URL"},
		{"https://auth.example.com/\x7f", false, "invalid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			err := wire.CheckURL(tt.raw, tt.insecure)
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("CheckURL(%q, %t) = %v, want nil", tt.raw, tt.insecure, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("CheckURL(%q, %t) = %v, want an error containing %q", tt.raw, tt.insecure, err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q reveals the URL's password", err)
			}
		})
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LocalHost": true, "localhost.": true,
		"127.0.0.1": true, "127.255.255.254": true, "::1": true, "[::1]": true,
		"0:0:0:0:0:0:0:1": true, "::ffff:127.0.0.1": true,
		"": false, "example.com": false, "localhost.example.com": false, "notlocalhost": false,
		// Resolved by network DNS, not by the hosts file: see IsLoopback.
		"app.localhost": false, "a.b.localhost.": false, ".localhost": false,
		"10.0.0.1": false, "0.0.0.0": false, "::": false, "128.0.0.1": false,
	} {
		if got := wire.IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %t, want %t", host, got, want)
		}
	}
}
