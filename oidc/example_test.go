package oidc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/oidc"
)

// exampleProvider is a minimal OpenID provider on loopback standing in for a real
// one: it serves discovery, a JWK Set and userinfo, and issues one token.
type exampleProvider struct {
	*httptest.Server
	key *ecdsa.PrivateKey
}

func startExampleProvider() *exampleProvider {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	p := &exampleProvider{key: key}
	mux := http.NewServeMux()
	reply := func(v any) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(v)
		}
	}
	p.Server = httptest.NewServer(mux)
	mux.Handle("/.well-known/openid-configuration", reply(map[string]any{
		"issuer":                                p.URL,
		"jwks_uri":                              p.URL + "/jwks",
		"userinfo_endpoint":                     p.URL + "/userinfo",
		"id_token_signing_alg_values_supported": []string{"ES256"},
	}))
	mux.Handle("/jwks", reply(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Use: "sig"}}}))
	mux.Handle("/userinfo", reply(map[string]any{"sub": "user-42", "email": "ada@example.com", "email_verified": true}))
	return p
}

// token is what the provider's token endpoint would return for the
// authentication request that sent nonce.
func (p *exampleProvider) token(clientID, nonce string) *pixie.Token {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: p.key, KeyID: "k1"}}, nil)
	if err != nil {
		log.Fatal(err)
	}
	now := time.Now()
	idToken, err := jwt.Signed(signer).Claims(map[string]any{
		"iss": p.URL, "sub": "user-42", "aud": clientID, "nonce": nonce,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}).Serialize()
	if err != nil {
		log.Fatal(err)
	}
	return &pixie.Token{AccessToken: pixie.NewSecret("access-token"), TokenType: "Bearer", IDToken: pixie.NewSecret(idToken)}
}

func ExampleNewVerifierFromMetadata() {
	provider := startExampleProvider()
	defer provider.Close()
	ctx := context.Background()

	// Discover the provider once, at start-up; use your provider's issuer URL.
	m, err := pixie.Discover(ctx, provider.URL)
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := oidc.NewVerifierFromMetadata(m, oidc.VerifierConfig{ClientID: "my-client"})
	if err != nil {
		log.Fatal(err)
	}

	// tok comes from the authorization code exchange of a request that sent nonce.
	const nonce = "n-0S6_WzA2Mj"
	tok := provider.token("my-client", nonce)
	idToken, err := verifier.VerifyToken(ctx, tok, oidc.WithNonce(nonce))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed in:", idToken.Subject)
	// Output: signed in: user-42
}

func ExampleUserInfo() {
	provider := startExampleProvider()
	defer provider.Close()
	ctx := context.Background()
	m, err := pixie.Discover(ctx, provider.URL)
	if err != nil {
		log.Fatal(err)
	}
	tok := provider.token("my-client", "")

	// The sub of the verified ID token guards against a response about another
	// user (OpenID Connect Core section 5.3.2).
	user, err := oidc.UserInfo(ctx, nil, m.UserinfoEndpoint, tok, oidc.WithSubject("user-42"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(user.Email, user.EmailVerified)
	// Output: ada@example.com true
}
