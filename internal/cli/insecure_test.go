package cli_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
	"github.com/pixieauth/pixie/internal/cli"
)

// TestCurlRefusesPlainHTTPToRemoteHosts checks that pixie curl sends no token
// over http:// to a host other than loopback unless --allow-insecure-http is
// given.
func TestCurlRefusesPlainHTTPToRemoteHosts(t *testing.T) {
	srv := devservertest.NewServer(t)
	testHome(t)
	if code, stderr := loginClientCredentials(t, srv.URL, srv.Confidential.ID, srv.Confidential.Secret.Reveal()); code != cli.ExitOK {
		t.Fatalf("pixie login: exit code %d; stderr:\n%s", code, stderr)
	}
	api := &recordingServer{}
	apiURL := api.start(t, remoteListener(t))

	code, _, stderr := runPixie(t, "curl", apiURL+"/items")
	if code != cli.ExitUsage || !strings.Contains(stderr, "--allow-insecure-http") {
		t.Errorf("pixie curl http://remote: exit code %d; stderr:\n%s\nwant %d and the way to allow it", code, stderr, cli.ExitUsage)
	}
	if got := api.authorizations(); len(got) != 0 {
		t.Fatalf("refused curl reached the server with Authorization %q", got)
	}

	code, stdout, stderr := runPixie(t, "curl", "--allow-insecure-http", apiURL+"/items")
	if code != cli.ExitOK || stdout != "ok\n" {
		t.Errorf("pixie curl --allow-insecure-http: exit code %d, stdout %q; stderr:\n%s", code, stdout, stderr)
	}
	if got := api.authorizations(); len(got) != 1 || !strings.HasPrefix(got[0], "Bearer ") {
		t.Errorf("Authorization headers %q, want one bearer token", got)
	}
}

// TestRemoteHTTPIssuerNeedsOptIn checks that an http:// issuer on a host other
// than loopback is refused, before any request, unless --allow-insecure-http
// is given; the profile then remembers the choice for later renewals.
func TestRemoteHTTPIssuerNeedsOptIn(t *testing.T) {
	ln := remoteListener(t)
	issuer := "http://" + ln.Addr().String()
	client := devserver.Client{ID: "svc", Secret: pixie.NewSecret("svc-secret"), AuthMethod: pixie.ClientSecretBasic,
		GrantTypes: []string{"client_credentials"}}
	ds, err := devserver.New(devserver.Options{Issuer: issuer, Clients: []devserver.Client{client}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	issuerServer := &recordingServer{handler: ds}
	issuerServer.start(t, ln)
	home := testHome(t)
	t.Setenv("TEST_CLIENT_SECRET", "svc-secret")
	login := []string{"login", "--grant", "client_credentials", "--issuer", issuer, "--client-id", "svc", "--client-secret-env", "TEST_CLIENT_SECRET"}

	code, _, stderr := runPixie(t, login...)
	if code != cli.ExitUsage || !strings.Contains(stderr, "--issuer") || !strings.Contains(stderr, "--allow-insecure-http") {
		t.Errorf("pixie login --issuer http://remote: exit code %d; stderr:\n%s\nwant %d and the way to allow it", code, stderr, cli.ExitUsage)
	}
	if n := issuerServer.requests(); n != 0 {
		t.Fatalf("the refused login sent %d requests", n)
	}

	if code, _, stderr := runPixie(t, append(login, "--allow-insecure-http")...); code != cli.ExitOK {
		t.Fatalf("pixie login --allow-insecure-http: exit code %d; stderr:\n%s", code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(home, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "allow_insecure_http: true") {
		t.Errorf("config.yaml:\n%s\nwant allow_insecure_http: true", b)
	}
	if code, _, stderr := runPixie(t, "token", "--force-refresh"); code != cli.ExitOK {
		t.Errorf("pixie token --force-refresh with the profile: exit code %d; stderr:\n%s", code, stderr)
	}
}

// TestInspectVerifyRefusesKeysOverHTTP serves an https issuer whose jwks_uri
// redirects to plain http, where anyone on the network could put their own
// keys: pixie inspect --verify must not call a token signed with such a key
// verified. The same key served over https verifies, so the test fails only
// on the redirect.
func TestInspectVerifyRefusesKeysOverHTTP(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	serveKeys := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(jwks)
	}
	plain := httptest.NewServer(http.HandlerFunc(serveKeys))
	t.Cleanup(plain.Close)

	var redirect bool
	var mu sync.Mutex
	tlsIssuer := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		iss := "https://" + r.Host
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			json.NewEncoder(w).Encode(map[string]any{"issuer": iss, "jwks_uri": iss + "/jwks",
				"authorization_endpoint": iss + "/authorize", "token_endpoint": iss + "/token",
				"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
				"id_token_signing_alg_values_supported": []string{"ES256"}})
		case "/jwks":
			mu.Lock()
			defer mu.Unlock()
			if redirect {
				http.Redirect(w, r, plain.URL+"/jwks", http.StatusFound)
				return
			}
			serveKeys(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(tlsIssuer.Close)
	certFile := filepath.Join(t.TempDir(), "issuer.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsIssuer.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}

	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	claims, _ := json.Marshal(map[string]any{"iss": tlsIssuer.URL, "sub": "mallory", "exp": time.Now().Add(time.Hour).Unix()})
	jws, err := signer.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}

	// The pixie binary runs apart, so that it trusts the issuer's
	// certificate through SSL_CERT_FILE.
	inspect := func() (string, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), loginTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "pixie", "inspect", "--verify", "--issuer", tlsIssuer.URL, "-")
		cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+certFile, "PIXIE_HOME="+t.TempDir())
		cmd.Stdin = strings.NewReader(token)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	if stdout, stderr, err := inspect(); err != nil || !strings.Contains(stdout, "Verified:") {
		t.Fatalf("keys over https: %v; stdout:\n%s\nstderr:\n%s\nwant Verified", err, stdout, stderr)
	}
	mu.Lock()
	redirect = true
	mu.Unlock()
	stdout, stderr, err := inspect()
	if err == nil || strings.Contains(stdout, "Verified") {
		t.Errorf("keys redirected to http: %v; stdout:\n%s\nwant a failure", err, stdout)
	}
	if !strings.Contains(stderr, "redirect") {
		t.Errorf("stderr:\n%s\nwant the redirect named", stderr)
	}
}

// remoteListener listens on an address of this machine other than loopback,
// for a server pixie must treat as remote. The test is skipped where there is
// none.
func remoteListener(t *testing.T) net.Listener {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Skipf("no interface addresses: %v", err)
	}
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok || n.IP.To4() == nil || n.IP.IsLoopback() || n.IP.IsLinkLocalUnicast() {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(n.IP.String(), "0"))
		if err == nil {
			return ln
		}
	}
	t.Skip("no address other than loopback to listen on")
	return nil
}

// recordingServer serves handler, or "ok", on a listener and records each
// request's Authorization header.
type recordingServer struct {
	handler http.Handler
	mu      sync.Mutex
	auth    []string
}

// start serves on ln until the test ends and returns the server's URL.
func (s *recordingServer) start(t *testing.T, ln net.Listener) string {
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.auth = append(s.auth, r.Header.Get("Authorization"))
		s.mu.Unlock()
		if s.handler != nil {
			s.handler.ServeHTTP(w, r)
			return
		}
		w.Write([]byte("ok\n"))
	}))
	ts.Listener.Close()
	ts.Listener = ln
	ts.Start()
	t.Cleanup(ts.Close)
	return ts.URL
}

// requests returns how many requests the server received.
func (s *recordingServer) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.auth)
}

// authorizations returns the non-empty Authorization headers received.
func (s *recordingServer) authorizations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, a := range s.auth {
		if a != "" {
			out = append(out, a)
		}
	}
	return out
}
