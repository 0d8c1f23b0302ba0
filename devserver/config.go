package devserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/pixieauth/pixie"
	"go.yaml.in/yaml/v3"
)

// fileConfig is the configuration file: YAML, or JSON (which YAML reads too).
type fileConfig struct {
	Issuer            string        `yaml:"issuer"`
	Clients           []fileClient  `yaml:"clients"`
	Users             []fileUser    `yaml:"users"`
	TrustedIssuers    []fileIssuer  `yaml:"trusted_issuers"`
	AccessTokenFormat TokenFormat   `yaml:"access_token_format"`
	AccessTokenTTL    time.Duration `yaml:"access_token_ttl"`
	RefreshTokenTTL   time.Duration `yaml:"refresh_token_ttl"`
	RotationGrace     time.Duration `yaml:"rotation_grace_period"`
	IDTokenTTL        time.Duration `yaml:"id_token_ttl"`
	CodeTTL           time.Duration `yaml:"code_ttl"`
	DeviceCodeTTL     time.Duration `yaml:"device_code_ttl"`
	DeviceInterval    time.Duration `yaml:"device_interval"`
	AutoApprove       bool          `yaml:"auto_approve"`
	EnablePassword    bool          `yaml:"enable_password"`
	RequireDPoPNonce  bool          `yaml:"require_dpop_nonce"`
	Faults            faultsJSON    `yaml:"faults"`
}

type fileClient struct {
	ID           string   `yaml:"id"`
	Secret       string   `yaml:"secret"`
	AuthMethod   string   `yaml:"auth_method"`
	RedirectURIs []string `yaml:"redirect_uris"`
	GrantTypes   []string `yaml:"grant_types"`
	Scopes       []string `yaml:"scopes"`
	Name         string   `yaml:"name"`
	JWKS         any      `yaml:"jwks"`
	// PostLogoutRedirectURIs is the client metadata of OpenID Connect
	// RP-Initiated Logout 1.0 section 3.1.
	PostLogoutRedirectURIs []string `yaml:"post_logout_redirect_uris"`
}

type fileUser struct {
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	Subject  string `yaml:"subject"`
	Name     string `yaml:"name"`
	Email    string `yaml:"email"`
}

type fileIssuer struct {
	Issuer string `yaml:"issuer"`
	JWKS   any    `yaml:"jwks"`
}

// LoadConfig reads a configuration file; see [ParseConfig].
func LoadConfig(path string) (Options, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Options{}, fmt.Errorf("devserver: config: %w", err)
	}
	o, err := ParseConfig(b)
	if err != nil {
		return Options{}, fmt.Errorf("%w (in %s)", err, path)
	}
	return o, nil
}

// ParseConfig parses a YAML or JSON configuration into Options. Unknown keys are
// errors. Durations are Go duration strings ("15m"); keys are given in
// "jwks" as a JWK Set. Example:
//
//	issuer: http://127.0.0.1:9000
//	access_token_ttl: 15m
//	clients:
//	  - id: web
//	    secret: web-secret
//	    redirect_uris: [http://127.0.0.1:8080/callback]
//	    post_logout_redirect_uris: [http://127.0.0.1:8080/]
//	  - id: cli
//	    auth_method: none
//	    redirect_uris: [http://127.0.0.1/callback]
//	users:
//	  - username: alice
//	    password: wonderland
//	    email: alice@example.test
//	faults:
//	  latency: 100ms
func ParseConfig(data []byte) (Options, error) {
	var fc fileConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&fc); err != nil && !errors.Is(err, io.EOF) {
		return Options{}, fmt.Errorf("devserver: config: %w", err)
	}
	o := Options{
		Issuer: fc.Issuer, AccessTokenFormat: fc.AccessTokenFormat, AccessTokenTTL: fc.AccessTokenTTL,
		RefreshTokenTTL: fc.RefreshTokenTTL, IDTokenTTL: fc.IDTokenTTL, CodeTTL: fc.CodeTTL,
		DeviceCodeTTL: fc.DeviceCodeTTL, DeviceInterval: fc.DeviceInterval, AutoApprove: fc.AutoApprove,
		EnablePassword: fc.EnablePassword, RequireDPoPNonce: fc.RequireDPoPNonce, RotationGracePeriod: fc.RotationGrace,
	}
	switch o.AccessTokenFormat {
	case "", FormatJWT, FormatOpaque:
	default:
		return Options{}, fmt.Errorf("devserver: config: access_token_format %q is not jwt or opaque", o.AccessTokenFormat)
	}
	// Options would silently take a default for a negative duration.
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"access_token_ttl", fc.AccessTokenTTL}, {"refresh_token_ttl", fc.RefreshTokenTTL}, {"id_token_ttl", fc.IDTokenTTL},
		{"code_ttl", fc.CodeTTL}, {"device_code_ttl", fc.DeviceCodeTTL}, {"device_interval", fc.DeviceInterval}} {
		if d.v < 0 {
			return Options{}, fmt.Errorf("devserver: config: %s %s: want a positive duration", d.key, d.v)
		}
	}
	if fc.DeviceInterval%time.Second != 0 {
		return Options{}, fmt.Errorf("devserver: config: device_interval %s: want a whole number of seconds (RFC 8628 section 3.2)", fc.DeviceInterval)
	}
	for i, c := range fc.Clients {
		keys, err := jwksFrom(c.JWKS)
		if err != nil {
			return Options{}, fmt.Errorf("devserver: config: client %d (%s): %w", i+1, c.ID, err)
		}
		o.Clients = append(o.Clients, Client{ID: c.ID, Secret: pixie.NewSecret(c.Secret), AuthMethod: pixie.AuthMethod(c.AuthMethod),
			RedirectURIs: c.RedirectURIs, GrantTypes: c.GrantTypes, Scopes: c.Scopes, Name: c.Name, Keys: keys,
			PostLogoutRedirectURIs: c.PostLogoutRedirectURIs})
	}
	for _, u := range fc.Users {
		o.Users = append(o.Users, User{Username: u.Username, Password: pixie.NewSecret(u.Password), Subject: u.Subject,
			Name: u.Name, Email: u.Email})
	}
	for i, ti := range fc.TrustedIssuers {
		keys, err := jwksFrom(ti.JWKS)
		if err != nil || ti.Issuer == "" || len(keys.Keys) == 0 {
			return Options{}, fmt.Errorf("devserver: config: trusted issuer %d needs an issuer and a jwks", i+1)
		}
		o.TrustedIssuers = append(o.TrustedIssuers, TrustedIssuer{Issuer: ti.Issuer, Keys: keys})
	}
	var err error
	if o.Faults, err = fc.Faults.faults(); err != nil {
		return Options{}, fmt.Errorf("devserver: config: faults: %w", err)
	}
	return o, nil
}

// jwksFrom converts a JWK Set decoded from YAML.
func jwksFrom(v any) (jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if v == nil {
		return set, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return set, fmt.Errorf("jwks: %w", err)
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return set, fmt.Errorf("jwks: %w", err)
	}
	return set, nil
}

// ParseClientSpec parses the command-line form of a client,
// "id:secret:redirect_uri[,redirect_uri...]". The secret may be empty for a
// public client ("cli::http://127.0.0.1/callback"), and the redirect URIs may be
// omitted ("svc:secret") for clients that use no redirect. Neither the id nor the
// secret may contain a colon. A client with a secret uses client_secret_basic.
func ParseClientSpec(spec string) (Client, error) {
	id, rest, ok := strings.Cut(spec, ":")
	if !ok || id == "" {
		return Client{}, fmt.Errorf("devserver: client %q: want id:secret:redirect_uri[,redirect_uri...]", redactSpec(spec))
	}
	secret, uris, _ := strings.Cut(rest, ":")
	c := Client{ID: id, Secret: pixie.NewSecret(secret), AuthMethod: pixie.ClientSecretBasic}
	if secret == "" {
		c.AuthMethod = pixie.AuthNone
	}
	if uris != "" {
		for _, u := range strings.Split(uris, ",") {
			if err := checkRedirectURI(u); err != nil {
				return Client{}, fmt.Errorf("devserver: client %s: %w (want id:secret:redirect_uri[,redirect_uri...])", id, err)
			}
			c.RedirectURIs = append(c.RedirectURIs, u)
		}
	}
	return c, nil
}

// redactSpec keeps a malformed spec's id only, so a secret never reaches an error.
func redactSpec(spec string) string {
	id, _, found := strings.Cut(spec, ":")
	if found {
		return id + ":..."
	}
	return id
}

// ParseUserSpec parses the command-line form of a user, "username:password".
func ParseUserSpec(spec string) (User, error) {
	name, password, ok := strings.Cut(spec, ":")
	if !ok || name == "" || password == "" {
		return User{}, fmt.Errorf("devserver: user %q: want username:password", redactSpec(spec))
	}
	return User{Username: name, Password: pixie.NewSecret(password)}, nil
}
