package dpop_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
	"github.com/pixieauth/pixie/dpop"
)

// postForm sends a form POST to the devserver as the confidential client,
// with a DPoP header when proof is not empty, and decodes the JSON answer.
func postForm(tb testing.TB, srv *devservertest.Server, path string, form url.Values, proof string) (*http.Response, map[string]any) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(srv.Confidential.ID, srv.Confidential.Secret.Reveal())
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	resp, err := srv.HTTPClient().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		tb.Fatalf("decoding the %s response: %v", path, err)
	}
	return resp, body
}

// requestToken asks for a client credentials token with a proof from k.
func requestToken(tb testing.TB, srv *devservertest.Server, k *dpop.Key) (*http.Response, map[string]any) {
	tb.Helper()
	tokenURL := srv.URL + "/token"
	proof, err := k.Proof(http.MethodPost, tokenURL, "")
	if err != nil {
		tb.Fatal(err)
	}
	return postForm(tb, srv, "/token", url.Values{"grant_type": {"client_credentials"}}, proof)
}

// checkBound checks that body is a DPoP token response whose access token the
// server binds to k.
func checkBound(tb testing.TB, srv *devservertest.Server, body map[string]any, k *dpop.Key) {
	tb.Helper()
	if got, want := body["token_type"], "DPoP"; got != want {
		tb.Errorf("token_type = %v, want %s", got, want)
	}
	at, _ := body["access_token"].(string)
	if at == "" {
		tb.Fatalf("no access_token in %v", body)
	}
	resp, info := postForm(tb, srv, "/introspect", url.Values{"token": {at}}, "")
	if resp.StatusCode != http.StatusOK || info["active"] != true {
		tb.Fatalf("introspection: %s %v", resp.Status, info)
	}
	if got, want := info["token_type"], "DPoP"; got != want {
		tb.Errorf("introspected token_type = %v, want %s", got, want)
	}
	cnf, _ := info["cnf"].(map[string]any)
	if got, want := cnf["jkt"], k.Thumbprint(); got != want {
		tb.Errorf("cnf.jkt = %v, want Thumbprint() %s", got, want)
	}
}

func TestDevserverBindsToken(t *testing.T) {
	srv := devservertest.NewServer(t)
	for alg, signer := range signers(t) {
		t.Run(string(alg), func(t *testing.T) {
			k, err := dpop.NewKeyFrom(signer)
			if err != nil {
				t.Fatal(err)
			}
			resp, body := requestToken(t, srv, k)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("token request: %s %v", resp.Status, body)
			}
			checkBound(t, srv, body, k)
		})
	}
}

func TestDevserverNonce(t *testing.T) {
	srv := devservertest.NewServer(t, func(o *devserver.Options) { o.RequireDPoPNonce = true })
	k := newKey(t)

	resp, body := requestToken(t, srv, k)
	if got, want := resp.StatusCode, http.StatusBadRequest; got != want {
		t.Fatalf("first token request: status %d, want %d (%v)", got, want, body)
	}
	if got, want := body["error"], "use_dpop_nonce"; got != want {
		t.Fatalf("error = %v, want %s", got, want)
	}
	nonce := resp.Header.Get("DPoP-Nonce")
	if nonce == "" {
		t.Fatal("no DPoP-Nonce header with use_dpop_nonce")
	}
	k.SetNonce(srv.URL+"/token", nonce)

	resp, body = requestToken(t, srv, k)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token request with the nonce: %s %v", resp.Status, body)
	}
	checkBound(t, srv, body, k)
}
