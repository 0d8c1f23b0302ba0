package pixie_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver/devservertest"
)

// TestRegister registers a client with the devserver (RFC 7591), uses it, and
// manages it (RFC 7592): read, update, delete.
func TestRegister(t *testing.T) {
	dev := devservertest.NewServer(t)
	ctx := context.Background()
	m, err := pixie.Discover(ctx, dev.URL)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := pixie.Register(ctx, m, pixie.ClientMetadata{
		ClientName:   "app",
		RedirectURIs: []string{"http://127.0.0.1/cb"},
		GrantTypes:   []string{"authorization_code", "client_credentials"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if reg.ClientSecret.IsZero() || reg.RegistrationAccessToken.IsZero() || reg.RegistrationClientURI == "" || reg.Issuer != dev.URL {
		t.Fatalf("registration = %+v", reg)
	}
	for _, shown := range []string{fmt.Sprintf("%v %+v %#v", reg, reg, reg), mustJSON(t, reg)} {
		if strings.Contains(shown, reg.ClientSecret.Reveal()) || strings.Contains(shown, reg.RegistrationAccessToken.Reveal()) {
			t.Errorf("a secret is printed: %s", shown)
		}
	}
	cfg := &pixie.Config{ClientID: reg.ClientID, ClientSecret: reg.ClientSecret, Endpoint: m.Endpoint()}
	if _, err := cfg.ClientCredentials(ctx); err != nil {
		t.Fatalf("the registered client: %v", err)
	}

	g := &pixie.Registrar{}
	read, err := g.Read(ctx, reg)
	if err != nil || read.ClientID != reg.ClientID || read.Metadata.ClientName != "app" || !read.ClientSecret.Equal(reg.ClientSecret) {
		t.Fatalf("Read = %+v, %v", read, err)
	}
	upd := reg.Metadata
	upd.ClientName = "renamed"
	updated, err := g.Update(ctx, reg, upd)
	if err != nil || updated.Metadata.ClientName != "renamed" {
		t.Fatalf("Update = %+v, %v", updated, err)
	}
	if c, _ := dev.Client(reg.ClientID); c.Name != "renamed" {
		t.Errorf("the server's client is named %q after the update", c.Name)
	}
	if err := g.Delete(ctx, reg); err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.ClientCredentials(ctx); !pixie.ErrInvalidClient.Is(err) {
		t.Errorf("the deleted client: %v, want invalid_client", err)
	}
	if _, err := g.Read(ctx, reg); !pixie.ErrInvalidToken.Is(err) {
		t.Errorf("reading the deleted client: %v, want invalid_token", err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRegisterRefused checks the refusals: invalid metadata, a missing initial
// access token, a server without a registration endpoint.
func TestRegisterRefused(t *testing.T) {
	dev := devservertest.NewServer(t)
	ctx := context.Background()
	m, err := pixie.Discover(ctx, dev.URL)
	if err != nil {
		t.Fatal(err)
	}
	_, err = pixie.Register(ctx, m, pixie.ClientMetadata{RedirectURIs: []string{"javascript:alert(1)"}})
	var e *pixie.Error
	if !pixie.ErrInvalidRedirectURI.Is(err) || !errors.As(err, &e) || e.Op != "registration" {
		t.Errorf("err = %v, want invalid_redirect_uri from the registration", err)
	}
	noReg := *m
	noReg.RegistrationEndpoint = ""
	if _, err := pixie.Register(ctx, &noReg, pixie.ClientMetadata{}); err == nil || !strings.Contains(err.Error(), "no dynamic client registration") {
		t.Errorf("err = %v", err)
	}
}

// TestStoreRegistrations keeps a registration in a Store and reads it back,
// secrets included.
func TestStoreRegistrations(t *testing.T) {
	ctx := context.Background()
	st := &pixie.MemoryStore{}
	rs := pixie.StoreRegistrations(st)
	if _, err := rs.LoadRegistration(ctx, "https://as.example"); !errors.Is(err, pixie.ErrNotFound) {
		t.Errorf("empty store: %v", err)
	}
	in := &pixie.Registration{Issuer: "https://as.example", ClientID: "c1", ClientSecret: pixie.NewSecret("s3cret"),
		RegistrationAccessToken: pixie.NewSecret("rat"), RegistrationClientURI: "https://as.example/register/c1",
		Metadata: pixie.ClientMetadata{RedirectURIs: []string{"http://127.0.0.1/cb"}, TokenEndpointAuthMethod: pixie.ClientSecretBasic}}
	for range 2 { // the second save replaces the first
		if err := rs.SaveRegistration(ctx, "https://as.example", in); err != nil {
			t.Fatal(err)
		}
	}
	out, err := rs.LoadRegistration(ctx, "https://as.example")
	if err != nil {
		t.Fatal(err)
	}
	if out.ClientID != "c1" || out.ClientSecret.Reveal() != "s3cret" || out.RegistrationAccessToken.Reveal() != "rat" ||
		out.Issuer != in.Issuer || out.Metadata.TokenEndpointAuthMethod != pixie.ClientSecretBasic {
		t.Errorf("loaded %+v", out)
	}
	if tok, _, _ := st.Load(ctx, "registration https://as.example"); tok == nil || tok.TokenType != "pixie-client-registration" {
		t.Errorf("store record = %v", tok)
	}
	if err := rs.DeleteRegistration(ctx, "https://as.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := rs.LoadRegistration(ctx, "https://as.example"); !errors.Is(err, pixie.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
}
