package devserver_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
)

func TestParseConfig(t *testing.T) {
	yamlConfig := `
issuer: http://127.0.0.1:9000
access_token_ttl: 15m
access_token_format: opaque
auto_approve: true
clients:
  - id: web
    secret: web-secret
    redirect_uris: [http://127.0.0.1:8080/callback]
    scopes: [openid, profile]
  - id: cli
    auth_method: none
    redirect_uris: [http://127.0.0.1/callback]
  - id: signer
    auth_method: private_key_jwt
    jwks: {keys: [{kty: EC, crv: P-256, x: "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4", y: "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM", kid: k1}]}
users:
  - username: alice
    password: wonderland
    email: alice@example.test
faults:
  latency: 100ms
  rate_limit: 2
`
	jsonConfig := `{"issuer":"http://127.0.0.1:9000","access_token_ttl":"15m","access_token_format":"opaque","auto_approve":true,
"clients":[{"id":"web","secret":"web-secret","redirect_uris":["http://127.0.0.1:8080/callback"],"scopes":["openid","profile"]},
{"id":"cli","auth_method":"none","redirect_uris":["http://127.0.0.1/callback"]},
{"id":"signer","auth_method":"private_key_jwt","jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","kid":"k1"}]}}],
"users":[{"username":"alice","password":"wonderland","email":"alice@example.test"}],
"faults":{"latency":"100ms","rate_limit":2}}`
	for name, data := range map[string]string{"config.yaml": yamlConfig, "config.json": jsonConfig} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name)
			if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
			o, err := devserver.LoadConfig(path)
			if err != nil {
				t.Fatal(err)
			}
			if o.Issuer != "http://127.0.0.1:9000" || o.AccessTokenTTL != 15*time.Minute || o.AccessTokenFormat != devserver.FormatOpaque || !o.AutoApprove {
				t.Errorf("options = %+v", o)
			}
			if got, want := len(o.Clients), 3; got != want {
				t.Fatalf("%d clients, want %d", got, want)
			}
			web := o.Clients[0]
			if web.ID != "web" || web.Secret.Reveal() != "web-secret" || !slices.Equal(web.Scopes, []string{"openid", "profile"}) {
				t.Errorf("client web = %+v", web)
			}
			if got := o.Clients[2].Keys.Keys; len(got) != 1 || got[0].KeyID != "k1" || !got[0].IsPublic() {
				t.Errorf("client signer keys = %+v", got)
			}
			if len(o.Users) != 1 || o.Users[0].Password.Reveal() != "wonderland" || o.Users[0].Email != "alice@example.test" {
				t.Errorf("users = %+v", o.Users)
			}
			if o.Faults.Latency != 100*time.Millisecond || o.Faults.RateLimit != 2 {
				t.Errorf("faults = %+v", o.Faults)
			}
			srv, err := devserver.New(o)
			if err != nil {
				t.Fatalf("New with the parsed options: %v", err)
			}
			if c, ok := srv.Client("web"); !ok || c.AuthMethod != pixie.ClientSecretBasic {
				t.Errorf("client web registered as %+v", c)
			}
		})
	}
	for name, data := range map[string]string{
		"unknown key":     "issuer: http://127.0.0.1:9000\ncolour: blue\n",
		"bad duration":    "access_token_ttl: soon\n",
		"negative ttl":    "refresh_token_ttl: -1h\n",
		"part of second":  "device_interval: 1500ms\n",
		"bad format":      "access_token_format: xml\n",
		"bad fault":       "faults: {latency: fast}\n",
		"trusted no jwks": "trusted_issuers: [{issuer: https://idp.example}]\n",
		"not YAML":        "{[",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := devserver.ParseConfig([]byte(data)); err == nil {
				t.Errorf("ParseConfig succeeded")
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		if _, err := devserver.LoadConfig(filepath.Join(t.TempDir(), "nope.yaml")); err == nil {
			t.Errorf("LoadConfig of a missing file succeeded")
		}
	})
}

func TestParseClientSpec(t *testing.T) {
	for _, tt := range []struct {
		spec   string
		id     string
		secret string
		method pixie.AuthMethod
		uris   []string
	}{
		{"web:s3cret:http://127.0.0.1:8080/callback", "web", "s3cret", pixie.ClientSecretBasic, []string{"http://127.0.0.1:8080/callback"}},
		{"web:s3cret:http://127.0.0.1/a,https://app.example/b", "web", "s3cret", pixie.ClientSecretBasic, []string{"http://127.0.0.1/a", "https://app.example/b"}},
		{"cli::http://127.0.0.1/callback", "cli", "", pixie.AuthNone, []string{"http://127.0.0.1/callback"}},
		{"svc:secret", "svc", "secret", pixie.ClientSecretBasic, nil},
	} {
		t.Run(tt.spec, func(t *testing.T) {
			c, err := devserver.ParseClientSpec(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if c.ID != tt.id || c.Secret.Reveal() != tt.secret || c.AuthMethod != tt.method || !slices.Equal(c.RedirectURIs, tt.uris) {
				t.Errorf("got %+v", c)
			}
		})
	}
	for _, spec := range []string{"", "justid", ":secret:http://x/", "web:topsecret:not a uri", "web:topsecret:https://app.example/cb#frag"} {
		t.Run("bad "+spec, func(t *testing.T) {
			_, err := devserver.ParseClientSpec(spec)
			if err == nil {
				t.Fatalf("ParseClientSpec(%q) succeeded", spec)
			}
			if strings.Contains(err.Error(), "topsecret") {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
}

func TestParseUserSpec(t *testing.T) {
	u, err := devserver.ParseUserSpec("bob:builder:with-colon")
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "bob" || u.Password.Reveal() != "builder:with-colon" {
		t.Errorf("got %+v", u)
	}
	for _, spec := range []string{"", "bob", "bob:", ":pw"} {
		if _, err := devserver.ParseUserSpec(spec); err == nil {
			t.Errorf("ParseUserSpec(%q) succeeded", spec)
		}
	}
}

func TestNewValidation(t *testing.T) {
	for name, o := range map[string]devserver.Options{
		"no issuer":              {},
		"issuer with query":      {Issuer: "http://127.0.0.1:9000/?x=1"},
		"relative issuer":        {Issuer: "/here"},
		"client without ID":      {Issuer: "http://127.0.0.1", Clients: []devserver.Client{{}}},
		"duplicate client":       {Issuer: "http://127.0.0.1", Clients: []devserver.Client{{ID: "a"}, {ID: "a"}}},
		"basic without secret":   {Issuer: "http://127.0.0.1", Clients: []devserver.Client{{ID: "a", AuthMethod: pixie.ClientSecretBasic}}},
		"public with secret":     {Issuer: "http://127.0.0.1", Clients: []devserver.Client{{ID: "a", AuthMethod: pixie.AuthNone, Secret: secret("x")}}},
		"short HMAC secret":      {Issuer: "http://127.0.0.1", Clients: []devserver.Client{{ID: "a", AuthMethod: pixie.ClientSecretJWT, Secret: secret("short")}}},
		"key client without key": {Issuer: "http://127.0.0.1", Clients: []devserver.Client{{ID: "a", AuthMethod: pixie.PrivateKeyJWT}}},
		"mTLS":                   {Issuer: "http://127.0.0.1", Clients: []devserver.Client{{ID: "a", AuthMethod: pixie.TLSClientAuth}}},
		"relative redirect":      {Issuer: "http://127.0.0.1", Clients: []devserver.Client{{ID: "a", RedirectURIs: []string{"/cb"}}}},
		"unknown grant":          {Issuer: "http://127.0.0.1", Clients: []devserver.Client{{ID: "a", GrantTypes: []string{"implicit"}}}},
		"password grant off":     {Issuer: "http://127.0.0.1", Clients: []devserver.Client{{ID: "a", GrantTypes: []string{"password"}}}},
		"user without password":  {Issuer: "http://127.0.0.1", Users: []devserver.User{{Username: "a"}}},
		"fractional interval":    {Issuer: "http://127.0.0.1", DeviceInterval: 1500 * time.Millisecond},
		"bad faults":             {Issuer: "http://127.0.0.1", Faults: devserver.Faults{FailureRate: -1}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := devserver.New(o); err == nil {
				t.Errorf("New succeeded")
			}
		})
	}
}

func TestBanner(t *testing.T) {
	srv := devservertest.NewServer(t, func(o *devserver.Options) { o.AdminToken = secret("admin-token") })
	var b strings.Builder
	if err := srv.WriteBanner(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"development server: for development and tests, not for production", srv.URL, "confidential", "client_secret_basic",
		"key-client", "private_key_jwt", "alice", "grant_type=client_credentials", "curl -s -H 'Authorization: Bearer <admin token>' -X PUT"} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{"confidential-secret", "post-secret", "wonderland", "admin-token"} {
		if strings.Contains(out, secret) {
			t.Errorf("banner shows a secret:\n%s", out)
		}
	}
}
