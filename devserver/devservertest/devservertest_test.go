package devservertest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
	"golang.org/x/oauth2"
)

func TestNewServer(t *testing.T) {
	srv := devservertest.NewServer(t)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Errorf("URL = %q, want a 127.0.0.1 address", srv.URL)
	}
	resp, err := srv.HTTPClient().Get(srv.URL + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var meta map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&meta); err != nil {
		t.Fatal(err)
	}
	ep := srv.Endpoint()
	for key, want := range map[string]string{"issuer": ep.Issuer, "token_endpoint": ep.TokenURL, "authorization_endpoint": ep.AuthURL,
		"device_authorization_endpoint": ep.DeviceAuthURL, "jwks_uri": ep.JWKSURL, "revocation_endpoint": ep.RevocationURL,
		"introspection_endpoint": ep.IntrospectionURL, "userinfo_endpoint": ep.UserinfoURL,
		"pushed_authorization_request_endpoint": ep.PARURL} {
		if got := meta[key]; got != want {
			t.Errorf("metadata %s = %v, Endpoint has %q", key, got, want)
		}
	}
	for _, c := range []struct {
		c    devserver.Client
		want pixie.AuthMethod
	}{
		{srv.Confidential, pixie.ClientSecretBasic}, {srv.Post, pixie.ClientSecretPost}, {srv.Public, pixie.AuthNone},
		{srv.Device, pixie.AuthNone}, {srv.KeyClient, pixie.PrivateKeyJWT},
	} {
		got, ok := srv.Client(c.c.ID)
		if !ok || got.AuthMethod != c.want {
			t.Errorf("client %s registered as %+v (found %t), want auth method %s", c.c.ID, got, ok, c.want)
		}
	}
}

func TestAuthorizeThroughLoginPage(t *testing.T) {
	for _, auto := range []bool{true, false} {
		srv := devservertest.NewServer(t, devservertest.WithAutoApprove(auto))
		conf := &oauth2.Config{ClientID: srv.Public.ID, Endpoint: srv.OAuth2Endpoint(), RedirectURL: devservertest.RedirectURL}
		cb := srv.Authorize(t, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if cb.Query().Get("code") == "" || cb.Query().Get("state") != "st" {
			t.Errorf("auto-approve %t: callback %s lacks code or state", auto, cb)
		}
		logins := srv.Count(devserver.Match{Endpoint: "login", Status: http.StatusOK})
		if want := map[bool]int{true: 0, false: 1}[auto]; logins != want {
			t.Errorf("auto-approve %t: %d logins through the page, want %d", auto, logins, want)
		}
	}
}

func TestBrowserErrors(t *testing.T) {
	srv := devservertest.NewServer(t, devservertest.WithAutoApprove(false))
	b := devserver.NewBrowser(srv.HTTPClient(), "alice", "wrong")
	_, err := b.Authorize(t.Context(), srv.URL+"/authorize?"+url.Values{"client_id": {"nobody"}}.Encode())
	if err == nil {
		t.Fatal("an invalid authorization request succeeded")
	}
	_, err = b.Authorize(t.Context(), "://not a url")
	if err == nil {
		t.Fatal("a malformed URL succeeded")
	}
}

func TestConfigWithPixieClient(t *testing.T) {
	srv := devservertest.NewServer(t)
	for _, c := range []devserver.Client{srv.Confidential, srv.Post, srv.KeyClient} {
		t.Run(c.ID, func(t *testing.T) {
			tok, err := srv.Config(c).ClientCredentials(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if !tok.Valid(time.Now(), 0) {
				t.Errorf("token %v is not valid", tok)
			}
			if got := srv.Count(devserver.Match{Endpoint: "token", ClientID: c.ID, Status: http.StatusOK}); got != 1 {
				t.Errorf("%d successful token requests by %s, want 1", got, c.ID)
			}
		})
	}
}
