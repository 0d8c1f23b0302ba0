package devserver_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
)

func TestStateSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "devserver.db")
	clk := newClock()
	withState := func(o *devserver.Options) { o.StatePath = path; o.Now = clk.Now }

	first := devservertest.NewServer(t, withState)
	kept := codeTokens(t, first, first.Confidential, nil)
	revoked := codeTokens(t, first, first.Confidential, nil)
	wantOK(t, post(t, first, "/revoke", &first.Confidential, formOf("token", revoked.str("refresh_token"))), http.StatusOK)
	rotated := codeTokens(t, first, first.Confidential, nil)
	next := post(t, first, "/token", &first.Confidential, formOf("grant_type", "refresh_token", "refresh_token", rotated.str("refresh_token")))
	wantOK(t, next, http.StatusOK)
	short := post(t, first, "/token", &first.Post, formOf("grant_type", "client_credentials"))
	if err := first.SetFaults(devserver.Faults{AccessTokenTTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	expiring := post(t, first, "/token", &first.Post, formOf("grant_type", "client_credentials"))
	b, _ := json.Marshal(map[string]any{"redirect_uris": []string{"http://127.0.0.1/cb"}, "grant_types": []string{"client_credentials"}})
	req, _ := http.NewRequest(http.MethodPost, first.URL+"/register", bytes.NewReader(b))
	reg := call(t, first, req)
	wantOK(t, reg, http.StatusCreated)
	if err := first.RotateKeys(); err != nil {
		t.Fatal(err)
	}
	keys := kids(first.KeySet())
	first.HTTP.Close()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode = %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	clk.Advance(2 * time.Minute)
	second := devservertest.NewServer(t, withState)

	if !active(t, second, kept.str("access_token")) || !active(t, second, kept.str("refresh_token")) {
		t.Errorf("tokens issued before the restart are not active")
	}
	if !active(t, second, short.str("access_token")) {
		t.Errorf("a client-credentials token issued before the restart is not active")
	}
	if active(t, second, expiring.str("access_token")) {
		t.Errorf("a token that expired during the restart is active")
	}
	if active(t, second, revoked.str("access_token")) {
		t.Errorf("a token revoked before the restart is active")
	}
	// The rotated-out refresh token is still recognised as reused.
	wantError(t, post(t, second, "/token", &second.Confidential, formOf("grant_type", "refresh_token", "refresh_token", rotated.str("refresh_token"))),
		http.StatusBadRequest, "invalid_grant")
	if active(t, second, next.str("access_token")) {
		t.Errorf("reuse after the restart did not revoke the family")
	}
	wantOK(t, post(t, second, "/token", &second.Confidential, formOf("grant_type", "refresh_token", "refresh_token", kept.str("refresh_token"))), http.StatusOK)

	c, ok := second.Client(reg.str("client_id"))
	if !ok {
		t.Fatalf("the dynamically registered client is gone")
	}
	wantOK(t, post(t, second, "/token", &c, formOf("grant_type", "client_credentials")), http.StatusOK)
	if got := kids(second.KeySet()); !slices.Equal(sorted(got), sorted(keys)) {
		t.Errorf("JWKS after restart = %v, want %v", got, keys)
	}

	t.Run("unusable file", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := devserver.New(devserver.Options{Issuer: "http://127.0.0.1", StatePath: dir}); err == nil {
			t.Errorf("New with a directory as the state file succeeded")
		}
		bad := filepath.Join(dir, "bad.db")
		os.WriteFile(bad, []byte("not a database, just text that is long enough to look like a header........"), 0o600)
		if _, err := devserver.New(devserver.Options{Issuer: "http://127.0.0.1", StatePath: bad}); err == nil {
			t.Errorf("New with a corrupt state file succeeded")
		}
	})
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
