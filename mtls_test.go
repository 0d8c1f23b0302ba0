package pixie_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
)

// selfSignedClientCert makes a client certificate for self_signed_tls_client_auth.
func selfSignedClientCert(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestMutualTLSClientAuth runs the client credentials grant against a token
// endpoint that authenticates clients by their TLS certificate (RFC 8705
// section 2): the body names the client, and no secret is sent.
func TestMutualTLSClientAuth(t *testing.T) {
	cert := selfSignedClientCert(t, "mtls-client")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		peer := r.TLS.PeerCertificates
		switch {
		case len(peer) == 0 || peer[0].Subject.CommonName != r.PostForm.Get("client_id"):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(401)
			w.Write([]byte(`{"error":"invalid_client","error_description":"no matching certificate"}`))
		case r.Header.Get("Authorization") != "" || r.PostForm.Has("client_secret"):
			http.Error(w, "a secret was sent", 400)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"access_token":"bound","token_type":"Bearer","expires_in":60}`))
		}
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	srv.StartTLS()
	defer srv.Close()

	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	withCert := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: roots, Certificates: []tls.Certificate{cert},
	}}}
	cfg := &pixie.Config{
		ClientID:   "mtls-client",
		AuthMethod: pixie.SelfSignedTLSClientAuth,
		Endpoint:   pixie.Endpoint{TokenURL: srv.URL + "/token"},
		HTTPClient: withCert,
	}
	tok, err := cfg.ClientCredentials(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tok.AccessToken.Reveal(), "bound"; got != want {
		t.Errorf("access token = %q, want %q", got, want)
	}

	// Without the certificate the handshake fails: no token, a clear error.
	cfg.HTTPClient = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	cfg.Retry.MaxAttempts = 1
	if _, err := cfg.ClientCredentials(context.Background()); err == nil {
		t.Error("token issued without a client certificate")
	}
}

// TestUntrustedCertificateIsNotTemporary checks that a server certificate that
// does not verify fails at once: no retries, and Temporary says retrying will
// not help.
func TestUntrustedCertificateIsNotTemporary(t *testing.T) {
	var requests, hellos atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { requests.Add(1) }))
	srv.TLS = &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		hellos.Add(1)
		return nil, nil
	}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	cfg := &pixie.Config{ // the default HTTP client does not trust the test certificate
		ClientID:     "c",
		ClientSecret: pixie.NewSecret("s"),
		Endpoint:     pixie.Endpoint{TokenURL: srv.URL + "/token"},
	}
	_, err := cfg.ClientCredentials(context.Background())
	if err == nil {
		t.Fatal("a token from a server whose certificate does not verify")
	}
	if pixie.Temporary(err) {
		t.Errorf("Temporary(%v) = true, want false", err)
	}
	if got := requests.Load(); got != 0 {
		t.Errorf("server received %d requests", got)
	}
	if got := hellos.Load(); got != 1 {
		t.Errorf("TLS handshakes = %d, want 1 (no retry)", got)
	}
}
