package devserver_test

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
)

// TestExpiredRecordsAreForgotten checks that codes nobody redeems and the token
// families of expired tokens do not pile up, in memory or in the state file.
func TestExpiredRecordsAreForgotten(t *testing.T) {
	clk := newClock()
	path := filepath.Join(t.TempDir(), "devserver.db")
	opts := func(o *devserver.Options) {
		o.Now, o.StatePath, o.AccessTokenFormat = clk.Now, path, devserver.FormatOpaque
	}
	srv := devservertest.NewServer(t, opts)
	cc := formOf("grant_type", "client_credentials")
	const early = 50
	for range early {
		wantOK(t, post(t, srv, "/token", &srv.Confidential, cc), http.StatusOK)
		u, _ := authURL(srv, srv.Confidential, nil)
		resp, err := noFollow(srv).Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("authorization request: HTTP %d, want 302", resp.StatusCode)
		}
	}
	clk.Advance(2 * time.Hour) // past the access token and code lifetimes
	late := devserver.SweepEvery - 2*early
	for range late {
		wantOK(t, post(t, srv, "/token", &srv.Confidential, cc), http.StatusOK)
	}
	check := func(t *testing.T, srv *devservertest.Server) {
		t.Helper()
		codes, access, refresh, families := srv.Records()
		if codes != 0 || access != late || refresh != 0 || families != late {
			t.Errorf("records: %d codes, %d access tokens, %d refresh tokens, %d families; want 0, %d, 0, %d",
				codes, access, refresh, families, late, late)
		}
	}
	t.Run("in memory", func(t *testing.T) { check(t, srv) })
	t.Run("in the state file", func(t *testing.T) {
		srv.HTTP.Close()
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
		check(t, devservertest.NewServer(t, opts))
	})
}
