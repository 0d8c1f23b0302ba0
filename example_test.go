package pixie_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
	"github.com/pixieauth/pixie/dpop"
)

// startDevServer starts pixie's development authorization server for an example.
func startDevServer(opts ...devservertest.Option) *devservertest.Server {
	s, err := devservertest.Start(opts...)
	if err != nil {
		log.Fatal(err)
	}
	return s
}

// logIn runs the authorization code flow with the devserver's scripted browser.
func logIn(ctx context.Context, s *devservertest.Server, cfg *pixie.Config, scopes ...string) *pixie.Token {
	ar, err := cfg.NewAuthRequest(ctx, pixie.Scopes(scopes...))
	if err != nil {
		log.Fatal(err)
	}
	callback, err := s.Browser().Authorize(ctx, ar.URL)
	if err != nil {
		log.Fatal(err)
	}
	tok, err := cfg.HandleCallback(ctx, ar, callback.Query())
	if err != nil {
		log.Fatal(err)
	}
	return tok
}

func ExampleConfig_ClientCredentials() {
	s := startDevServer()
	defer s.Close()
	ctx := context.Background()

	// In a real program: pixie.Discover(ctx, issuer) for the Endpoint, and
	// pixie.SecretFromEnv for the secret.
	cfg := &pixie.Config{
		ClientID:     s.Confidential.ID,
		ClientSecret: s.Confidential.Secret,
		Endpoint:     s.Endpoint(),
		Scopes:       []string{"api.read"},
	}
	tok, err := cfg.ClientCredentials(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Type(), tok.Scope, tok.ExpiresIn(time.Now()) > 50*time.Minute)
	// Output: Bearer [api.read] true
}

func ExampleConfig_NewAuthRequest() {
	s := startDevServer()
	defer s.Close()
	ctx := context.Background()

	cfg := &pixie.Config{
		ClientID:    s.Public.ID, // a public client: PKCE protects the code
		Endpoint:    s.Endpoint(),
		RedirectURL: devservertest.RedirectURL,
	}
	ar, err := cfg.NewAuthRequest(ctx, pixie.Scopes("openid", "profile"))
	if err != nil {
		log.Fatal(err)
	}
	// Send the user's browser to ar.URL; here a scripted browser logs in.
	callback, err := s.Browser().Authorize(ctx, ar.URL)
	if err != nil {
		log.Fatal(err)
	}
	// The callback handler checks state and iss, then redeems the code with the
	// PKCE verifier.
	tok, err := cfg.HandleCallback(ctx, ar, callback.Query())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(!tok.IDToken.IsZero(), !tok.RefreshToken.IsZero())

	// A forged or replayed callback is refused before any request.
	_, err = cfg.HandleCallback(ctx, ar, map[string][]string{"code": {"x"}, "state": {"forged"}})
	fmt.Println(errors.Is(err, pixie.ErrStateMismatch))
	// Output:
	// true true
	// true
}

func ExampleConfig_DeviceAuth() {
	s := startDevServer(func(o *devserver.Options) { o.DeviceInterval = time.Second })
	defer s.Close()
	ctx := context.Background()

	cfg := &pixie.Config{ClientID: s.Device.ID, Endpoint: s.Endpoint()}
	da, err := cfg.DeviceAuth(ctx, pixie.Scopes("profile"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("visit the verification URI:", da.VerificationURI != "", "code:", da.UserCode != "")

	// The user approves on another device; here a scripted browser does.
	go func() {
		if err := s.Browser().Device(ctx, da.VerificationURI, da.UserCode); err != nil {
			log.Print(err)
		}
	}()
	tok, err := cfg.DeviceToken(ctx, da) // polls until approved, denied or expired
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Type())
	// Output:
	// visit the verification URI: true code: true
	// Bearer
}

func ExampleConfig_Refresh() {
	s := startDevServer()
	defer s.Close()
	ctx := context.Background()

	cfg := s.Config(s.Confidential)
	tok := logIn(ctx, s, cfg, "openid", "offline_access") // see ExampleConfig_NewAuthRequest

	// The devserver rotates refresh tokens: keep the new one, the old one is
	// spent. A Source with a Store does this for you.
	fresh, err := cfg.Refresh(ctx, tok)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(fresh.RefreshToken.Equal(tok.RefreshToken))

	// Reusing the spent refresh token revokes the whole family: log in again.
	_, err = cfg.Refresh(ctx, tok)
	fmt.Println(pixie.LoginRequired(err), errors.Is(err, pixie.ErrInvalidGrant))
	// Output:
	// false
	// true true
}

func ExampleConfig_RevokeToken() {
	s := startDevServer()
	defer s.Close()
	ctx := context.Background()

	cfg := s.Config(s.Confidential)
	tok, err := cfg.ClientCredentials(ctx)
	if err != nil {
		log.Fatal(err)
	}
	before, err := cfg.Introspect(ctx, tok.AccessToken, pixie.HintAccessToken)
	if err != nil {
		log.Fatal(err)
	}
	if err := cfg.RevokeToken(ctx, tok); err != nil {
		log.Fatal(err)
	}
	after, err := cfg.Introspect(ctx, tok.AccessToken, pixie.HintAccessToken)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(before.Active, after.Active)
	// Output: true false
}

func ExampleNewClient() {
	s := startDevServer()
	defer s.Close()
	cfg := s.Config(s.Confidential)

	// A resource server that checks tokens by introspection.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		const prefix = "Bearer "
		h := r.Header.Get("Authorization")
		if len(h) <= len(prefix) {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		info, err := cfg.Introspect(r.Context(), pixie.NewSecret(h[len(prefix):]), pixie.HintAccessToken)
		if err != nil || !info.Active {
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "hello %s", info.ClientID)
	}))
	defer api.Close()

	// The Source fetches a token on first use, serves it from memory after,
	// and renews it ahead of expiry.
	src := cfg.ClientCredentialsSource(pixie.SourceOptions{})
	client := pixie.NewClient(src)
	resp, err := client.Get(api.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 hello confidential
}

func ExampleConfig_NewAuthRequest_dpopAndPAR() {
	s := startDevServer()
	defer s.Close()
	ctx := context.Background()

	// A DPoP key binds the tokens to this client (RFC 9449); keep it as long as
	// the tokens (dpop.Key.MarshalPrivateJWK). PAR (RFC 9126) keeps the request's
	// parameters out of the browser.
	key, err := dpop.NewKey()
	if err != nil {
		log.Fatal(err)
	}
	cfg := s.Config(s.Public)
	cfg.DPoP, cfg.UsePAR = key, true
	tok := logIn(ctx, s, cfg, "openid", "offline_access") // see ExampleConfig_NewAuthRequest
	fmt.Println(tok.Type())

	// Requests with the token carry a proof from the same key.
	src := cfg.RefreshSource(pixie.SourceOptions{})
	if err := src.Put(ctx, tok); err != nil {
		log.Fatal(err)
	}
	client := &http.Client{Transport: &pixie.Transport{Source: src, DPoP: key}}
	resp, err := client.Get(s.URL + "/userinfo")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output:
	// DPoP
	// 200
}

func ExampleForResource() {
	s := startDevServer(func(o *devserver.Options) { o.ProtectedResources = true })
	defer s.Close()
	ctx := context.Background()

	store := &pixie.MemoryStore{} // sqlitestore in a real program
	res, err := pixie.ForResource(ctx, s.URL+"/api", pixie.ResourceOptions{
		// A real program opens the browser and listens on the redirect URI.
		Login: func(ctx context.Context, cfg *pixie.Config, opts ...pixie.Option) (*pixie.Token, error) {
			return logIn(ctx, s, cfg), nil
		},
		Registrations: pixie.StoreRegistrations(store),
		Source:        pixie.SourceOptions{Store: store},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("client:", res.Client)
	resp, err := res.HTTPClient().Get(s.URL + "/api") // 401, login, replay
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status)
	// Output:
	// client: new-registration
	// 200 OK
}
