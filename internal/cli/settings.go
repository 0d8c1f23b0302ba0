package cli

import (
	"cmp"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/provider"
)

// Grant types the pixie command can log in with.
const (
	grantAuthCode          = "authorization_code"
	grantDeviceCode        = "device_code"
	grantClientCredentials = "client_credentials"
)

var grants = []string{grantAuthCode, grantDeviceCode, grantClientCredentials}

// Settings say which server and client a profile uses. They are saved in
// config.yaml under the profile's name; flags override them field by field.
// They never hold a secret, only where to find one.
type Settings struct {
	Issuer         string            `yaml:"issuer,omitempty" json:"issuer,omitempty"`
	Provider       string            `yaml:"provider,omitempty" json:"provider,omitempty"`
	ProviderParams map[string]string `yaml:"provider_params,omitempty" json:"provider_params,omitempty"`
	AuthURL        string            `yaml:"auth_url,omitempty" json:"auth_url,omitempty"`
	TokenURL       string            `yaml:"token_url,omitempty" json:"token_url,omitempty"`
	DeviceURL      string            `yaml:"device_url,omitempty" json:"device_url,omitempty"`
	RevokeURL      string            `yaml:"revoke_url,omitempty" json:"revoke_url,omitempty"`
	IntrospectURL  string            `yaml:"introspect_url,omitempty" json:"introspect_url,omitempty"`

	ClientID         string `yaml:"client_id,omitempty" json:"client_id,omitempty"`
	ClientSecretEnv  string `yaml:"client_secret_env,omitempty" json:"client_secret_env,omitempty"`
	ClientSecretFile string `yaml:"client_secret_file,omitempty" json:"client_secret_file,omitempty"`
	ClientSecretCmd  string `yaml:"client_secret_cmd,omitempty" json:"client_secret_cmd,omitempty"`
	AuthMethod       string `yaml:"auth_method,omitempty" json:"auth_method,omitempty"`
	PrivateKey       string `yaml:"private_key,omitempty" json:"private_key,omitempty"`

	Grant       string            `yaml:"grant,omitempty" json:"grant,omitempty"`
	Scopes      scopeList         `yaml:"scopes,omitempty" json:"scopes,omitempty"`
	Audience    string            `yaml:"audience,omitempty" json:"audience,omitempty"`
	Resources   []string          `yaml:"resources,omitempty" json:"resources,omitempty"`
	Params      map[string]string `yaml:"params,omitempty" json:"params,omitempty"`
	RedirectURI string            `yaml:"redirect_uri,omitempty" json:"redirect_uri,omitempty"`
	// AllowInsecureHTTP accepts the server's http:// URLs on hosts other than
	// loopback (--allow-insecure-http).
	AllowInsecureHTTP bool `yaml:"allow_insecure_http,omitempty" json:"allow_insecure_http,omitempty"`
	// DPoP binds the tokens to a key pixie login generates (RFC 9449), and
	// PAR pushes the authorization request (RFC 9126): pixie login --dpop
	// and --par.
	DPoP bool `yaml:"dpop,omitempty" json:"dpop,omitempty"`
	PAR  bool `yaml:"par,omitempty" json:"par,omitempty"`
	// Resource is the protected resource the profile is for, when pixie
	// login --resource discovered the server and client from it (RFC 9728),
	// and ClientSource how the client was obtained (a [pixie.ClientKind]).
	Resource     string `yaml:"resource,omitempty" json:"resource,omitempty"`
	ClientSource string `yaml:"client_source,omitempty" json:"client_source,omitempty"`

	// origin names the profile in config.yaml these settings came from
	// ("PATH: profile \"NAME\""), empty for none; given reports whether a
	// flag gave the setting of a config.yaml key. Errors blame the one that
	// gave a bad value (see [Settings.source]).
	origin string
	given  func(key string) bool
}

// scopeList is the scopes of a profile. In config.yaml it is a list, or one
// string of space-separated scopes as in an OAuth scope parameter (RFC 6749
// section 3.3): `scopes: "openid email"` and `scopes: [openid, email]` are
// the same.
type scopeList []string

// UnmarshalYAML reads a list of scopes or one space-separated string.
func (l *scopeList) UnmarshalYAML(n *yaml.Node) error {
	var words []string
	if n.Kind == yaml.ScalarNode {
		words = []string{n.Value}
	} else if err := n.Decode(&words); err != nil {
		return fmt.Errorf("line %d: scopes: want a list of scopes or a string of space-separated ones", n.Line)
	}
	*l = nil
	for _, w := range words {
		*l = append(*l, strings.Fields(w)...)
	}
	return nil
}

// settingsFlags binds the provider and client flags of a command.
type settingsFlags struct {
	fs *pflag.FlagSet
	s  Settings
	// Raw forms of the repeatable and map flags.
	scopes, resources, params, providerParams []string
	// literalSecret catches --client-secret, which is refused.
	literalSecret string
}

// addSettingsFlags registers the provider and client flags on cmd.
func addSettingsFlags(cmd *cobra.Command) *settingsFlags {
	f := &settingsFlags{fs: cmd.Flags()}
	fs := cmd.Flags()
	fs.StringVar(&f.s.Issuer, "issuer", "", "issuer `URL`; endpoints come from its discovery document")
	fs.StringVar(&f.s.Provider, "provider", "", "provider preset `NAME`: "+strings.Join(provider.Names(), ", "))
	fs.StringArrayVar(&f.providerParams, "provider-param", nil, "parameter `k=v` of the provider preset, such as tenant=contoso (repeatable)")
	fs.StringVar(&f.s.AuthURL, "auth-url", "", "authorization endpoint `URL`")
	fs.StringVar(&f.s.TokenURL, "token-url", "", "token endpoint `URL`")
	fs.StringVar(&f.s.DeviceURL, "device-url", "", "device authorization endpoint `URL`")
	fs.StringVar(&f.s.RevokeURL, "revoke-url", "", "revocation endpoint `URL`")
	fs.StringVar(&f.s.IntrospectURL, "introspect-url", "", "introspection endpoint `URL`")
	fs.StringVar(&f.s.ClientID, "client-id", "", "client `ID`")
	fs.StringVar(&f.s.ClientSecretEnv, "client-secret-env", "", "read the client secret from environment variable `VAR`")
	fs.StringVar(&f.s.ClientSecretFile, "client-secret-file", "", "read the client secret from `FILE` (mode 0600)")
	fs.StringVar(&f.s.ClientSecretCmd, "client-secret-cmd", "", "read the client secret from the output of `CMD` (run without a shell; quotes group words)")
	fs.StringVar(&f.literalSecret, "client-secret", "", "refused: use --client-secret-env, --client-secret-file or --client-secret-cmd")
	_ = fs.MarkHidden("client-secret")
	fs.StringVar(&f.s.AuthMethod, "auth-method", "", "client authentication `METHOD`: client_secret_basic, client_secret_post, none, client_secret_jwt, private_key_jwt")
	fs.StringVar(&f.s.PrivateKey, "private-key", "", "PEM private key `FILE` for private_key_jwt")
	fs.StringArrayVar(&f.scopes, "scope", nil, "`SCOPE` to request (repeatable or space-separated)")
	fs.StringVar(&f.s.Audience, "audience", "", "audience `NAME` the token is for")
	fs.StringArrayVar(&f.resources, "resource", nil, "resource `URI` the token is for (RFC 8707, repeatable)")
	fs.StringArrayVar(&f.params, "param", nil, "extra request parameter `k=v` (repeatable)")
	fs.StringVar(&f.s.Grant, "grant", "", "grant `TYPE`: authorization_code (default), device_code, client_credentials")
	fs.BoolVar(&f.s.AllowInsecureHTTP, "allow-insecure-http", false, "accept http:// URLs on hosts other than loopback, although tokens and secrets then cross the network unencrypted")
	_ = cmd.RegisterFlagCompletionFunc("grant", cobra.FixedCompletions(grants, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("provider", cobra.FixedCompletions(provider.Names(), cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("auth-method", cobra.FixedCompletions([]string{
		string(pixie.ClientSecretBasic), string(pixie.ClientSecretPost), string(pixie.AuthNone),
		string(pixie.ClientSecretJWT), string(pixie.PrivateKeyJWT),
	}, cobra.ShellCompDirectiveNoFileComp))
	return f
}

// errLiteralSecret explains why a secret on the command line is refused.
var errLiteralSecret = errors.New(`--client-secret is refused: a secret given on the command line is visible to every user of this machine in the process list and is kept in your shell history.
Give it another way:
  --client-secret-env VAR    read it from an environment variable
  --client-secret-file FILE  read it from a file only you can read (chmod 600)
  --client-secret-cmd CMD    read it from a command's output, such as "pass show my/client"`)

// apply overlays the flags the user set on base and returns the result.
func (f *settingsFlags) apply(base Settings) (Settings, error) {
	if f.fs.Changed("client-secret") {
		return Settings{}, usageErr(errLiteralSecret)
	}
	s := base
	s.given = func(key string) bool { return f.fs.Changed(flagName(key)) }
	s.ProviderParams = maps.Clone(base.ProviderParams)
	s.Params = maps.Clone(base.Params)
	// Naming another server replaces the old server's settings: its endpoints
	// would otherwise receive the new client's secret and tokens.
	if (f.fs.Changed("issuer") && f.s.Issuer != base.Issuer) || (f.fs.Changed("provider") && f.s.Provider != base.Provider) {
		s.Issuer, s.Provider, s.ProviderParams = "", "", nil
		s.AuthURL, s.TokenURL, s.DeviceURL, s.RevokeURL, s.IntrospectURL = "", "", "", "", ""
		s.AllowInsecureHTTP = false
		s.Resource, s.ClientSource = "", ""
	}
	if f.fs.Changed("allow-insecure-http") {
		s.AllowInsecureHTTP = f.s.AllowInsecureHTTP
	}
	for name, o := range map[string]struct {
		dst *string
		v   string
	}{
		"issuer": {&s.Issuer, f.s.Issuer}, "provider": {&s.Provider, f.s.Provider},
		"auth-url": {&s.AuthURL, f.s.AuthURL}, "token-url": {&s.TokenURL, f.s.TokenURL},
		"device-url": {&s.DeviceURL, f.s.DeviceURL}, "revoke-url": {&s.RevokeURL, f.s.RevokeURL},
		"introspect-url": {&s.IntrospectURL, f.s.IntrospectURL}, "client-id": {&s.ClientID, f.s.ClientID},
		"auth-method": {&s.AuthMethod, f.s.AuthMethod}, "private-key": {&s.PrivateKey, f.s.PrivateKey},
		"audience": {&s.Audience, f.s.Audience}, "grant": {&s.Grant, f.s.Grant},
	} {
		if f.fs.Changed(name) {
			*o.dst = o.v
		}
	}
	// The secret's source is one setting: naming a new one replaces the old.
	if f.fs.Changed("client-secret-env") || f.fs.Changed("client-secret-file") || f.fs.Changed("client-secret-cmd") {
		s.ClientSecretEnv, s.ClientSecretFile, s.ClientSecretCmd = f.s.ClientSecretEnv, f.s.ClientSecretFile, f.s.ClientSecretCmd
	}
	if f.fs.Changed("scope") {
		s.Scopes = nil
		for _, sc := range f.scopes {
			s.Scopes = append(s.Scopes, strings.Fields(sc)...)
		}
	}
	if f.fs.Changed("resource") {
		s.Resources = slices.Clone(f.resources)
	}
	var err error
	// Files given on the command line are kept as absolute paths: the profile
	// is used from other directories.
	for name, p := range map[string]*string{"client-secret-file": &s.ClientSecretFile, "private-key": &s.PrivateKey} {
		if f.fs.Changed(name) && *p != "" {
			if *p, err = filepath.Abs(*p); err != nil {
				return Settings{}, fmt.Errorf("--%s: %w", name, err)
			}
		}
	}
	if f.fs.Changed("param") {
		if s.Params, err = keyValues("--param", f.params); err != nil {
			return Settings{}, err
		}
	}
	if f.fs.Changed("provider-param") {
		if s.ProviderParams, err = keyValues("--provider-param", f.providerParams); err != nil {
			return Settings{}, err
		}
	}
	return s, s.check()
}

// keyValues parses k=v arguments of flag.
func keyValues(flag string, kvs []string) (map[string]string, error) {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usagef("%s %q: want key=value", flag, kv)
		}
		m[k] = v
	}
	return m, nil
}

// check refuses settings that cannot work, before any request is made. Each
// error names where the bad value came from: the flag, or the profile in
// config.yaml when no flag gave it (then it is not a usage error).
func (s Settings) check() error {
	if s.Grant != "" && !slices.Contains(grants, s.Grant) {
		return s.invalid("grant", fmt.Errorf("%q: want one of %s", s.Grant, strings.Join(grants, ", ")))
	}
	n := 0
	for _, v := range []string{s.ClientSecretEnv, s.ClientSecretFile, s.ClientSecretCmd} {
		if v != "" {
			n++
		}
	}
	if n > 1 {
		// Flags name the secret's source as one setting (see apply): a flag
		// for any of them replaced all three.
		_, env := s.source("client_secret_env")
		_, file := s.source("client_secret_file")
		if _, cmd := s.source("client_secret_cmd"); !env && !file && !cmd {
			return fmt.Errorf("%s names the client secret more than one way: keep one of client_secret_env, client_secret_file and client_secret_cmd", s.origin)
		}
		return usagef("give the client secret one way: --client-secret-env, --client-secret-file or --client-secret-cmd")
	}
	if s.ClientSecretCmd != "" {
		if argv, err := commandLine(s.ClientSecretCmd); err != nil || len(argv) == 0 {
			return s.invalid("client_secret_cmd", fmt.Errorf("%q: want a command, such as \"pass show my/client\"", s.ClientSecretCmd))
		}
	}
	switch pixie.AuthMethod(s.AuthMethod) {
	case pixie.AuthAuto, pixie.ClientSecretBasic, pixie.ClientSecretPost, pixie.AuthNone, pixie.ClientSecretJWT, pixie.PrivateKeyJWT:
	default:
		return s.invalid("auth_method", fmt.Errorf("%q: want client_secret_basic, client_secret_post, none, client_secret_jwt or private_key_jwt", s.AuthMethod))
	}
	for _, o := range []struct{ key, v string }{
		{"issuer", s.Issuer}, {"auth_url", s.AuthURL}, {"token_url", s.TokenURL},
		{"device_url", s.DeviceURL}, {"revoke_url", s.RevokeURL}, {"introspect_url", s.IntrospectURL},
	} {
		if o.v != "" {
			name, _ := s.source(o.key)
			if err := checkURL(name, o.v, s.AllowInsecureHTTP); err != nil {
				return s.blame(o.key, err)
			}
		}
	}
	if s.Provider != "" {
		if _, err := provider.ParamsOf(s.Provider); err != nil {
			return s.invalid("provider", err)
		}
	}
	if s.RedirectURI != "" {
		if _, err := loopbackRedirect(s.RedirectURI); err != nil {
			return s.blame("redirect_uri", usageErr(err))
		}
	}
	return nil
}

// source names where the setting key (its name in config.yaml) came from: its
// flag, when given or when there is no profile, else the profile in
// config.yaml.
func (s Settings) source(key string) (name string, flag bool) {
	if s.origin == "" || (s.given != nil && s.given(key)) {
		return "--" + flagName(key), true
	}
	return s.origin + ": " + key, false
}

// invalid is the error for the bad value of setting key: "NAME " then err,
// where NAME is its [Settings.source]; a usage error when a flag gave it.
func (s Settings) invalid(key string, err error) error {
	name, _ := s.source(key)
	return s.blame(key, fmt.Errorf("%s %w", name, err))
}

// blame makes err, about setting key, a usage error when a flag gave the
// value, and a plain one when config.yaml did: the command line was right.
func (s Settings) blame(key string, err error) error {
	if _, flag := s.source(key); flag {
		var ue *usageError
		if !errors.As(err, &ue) {
			err = usageErr(err)
		}
		return err
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return ue.err
	}
	return err
}

// flagName returns the flag that sets the setting key of config.yaml.
func flagName(key string) string {
	switch key {
	case "scopes", "resources", "params", "provider_params":
		key = strings.TrimSuffix(key, "s")
	}
	return strings.ReplaceAll(key, "_", "-")
}

// commandLine splits a --client-secret-cmd into its program and arguments. No
// shell runs it: there are no variables, globs, pipes or redirections. Words
// are separated by blanks; single quotes keep everything up to the next
// single quote, double quotes likewise except that a backslash there escapes
// '"' and '\\'; outside quotes a backslash escapes any character. So
// `pass show "my client"` runs pass with the arguments show and "my client".
func commandLine(cmd string) ([]string, error) {
	var (
		args  []string
		word  strings.Builder
		inArg bool
		quote rune
	)
	rs := []rune(cmd)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				word.WriteRune(r)
			}
		case quote == '"':
			switch {
			case r == '"':
				quote = 0
			case r == '\\' && i+1 < len(rs) && (rs[i+1] == '"' || rs[i+1] == '\\'):
				i++
				word.WriteRune(rs[i])
			default:
				word.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inArg = r, true
		case r == '\\':
			if i+1 == len(rs) {
				return nil, errors.New("ends with a backslash")
			}
			i++
			word.WriteRune(rs[i])
			inArg = true
		case unicode.IsSpace(r):
			if inArg {
				args = append(args, word.String())
				word.Reset()
				inArg = false
			}
		default:
			word.WriteRune(r)
			inArg = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if inArg {
		args = append(args, word.String())
	}
	return args, nil
}

// checkURL refuses a flag's value that is not an absolute http or https URL,
// or that is http:// on a host other than loopback unless allowInsecure.
func checkURL(flag, v string, allowInsecure bool) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("%s %q: want an absolute URL such as https://id.example.com", flag, v)
	}
	return refuseInsecureHTTP(flag, u, allowInsecure)
}

// grant returns the grant type, authorization_code when none is set.
func (s Settings) grant() string {
	if s.Grant == "" {
		return grantAuthCode
	}
	return s.Grant
}

// server names the server of s for people: the issuer, the provider preset or
// the token endpoint.
func (s Settings) server() string {
	return cmp.Or(s.Issuer, s.Provider, s.TokenURL)
}

// hasSecret reports whether s says where to read a client secret.
func (s Settings) hasSecret() bool {
	return s.ClientSecretEnv != "" || s.ClientSecretFile != "" || s.ClientSecretCmd != ""
}

// configured reports whether s names a server.
func (s Settings) configured() bool {
	return s.Issuer != "" || s.Provider != "" || s.TokenURL != ""
}

// endpoint resolves the server's endpoints: a provider preset or discovery of
// the issuer, with explicit URLs on top.
func (a *app) endpoint(ctx context.Context, s Settings) (pixie.Endpoint, error) {
	var e pixie.Endpoint
	switch {
	case s.Provider != "":
		params := provider.Params(maps.Clone(s.ProviderParams))
		if params == nil {
			params = provider.Params{}
		}
		// A preset that takes the issuer, such as dev, takes it from --issuer too.
		if ps, _ := provider.ParamsOf(s.Provider); s.Issuer != "" && params["issuer"] == "" &&
			slices.ContainsFunc(ps, func(p provider.Param) bool { return p.Name == "issuer" }) {
			params["issuer"] = s.Issuer
		}
		var err error
		if e, err = provider.Lookup(s.Provider, params); err != nil {
			return e, usageErr(err)
		}
		if s.Issuer != "" {
			e.Issuer = s.Issuer
		}
	case s.Issuer != "":
		d := &pixie.Discovery{HTTPClient: a.httpClient(), AllowInsecureHTTP: s.AllowInsecureHTTP}
		m, err := d.Discover(ctx, s.Issuer)
		if err != nil {
			return e, err // it names the issuer
		}
		e = m.Endpoint()
	}
	for _, o := range []struct {
		v   string
		dst *string
	}{
		{s.AuthURL, &e.AuthURL},
		{s.TokenURL, &e.TokenURL},
		{s.DeviceURL, &e.DeviceAuthURL},
		{s.RevokeURL, &e.RevocationURL},
		{s.IntrospectURL, &e.IntrospectionURL},
	} {
		if o.v != "" {
			*o.dst = o.v
		}
	}
	if e.TokenURL == "" {
		return e, usagef("no token endpoint: give --issuer URL, --provider NAME or --token-url URL")
	}
	return e, nil
}

// config builds the OAuth client of settings s, loading its secret.
func (a *app) config(ctx context.Context, s Settings) (*pixie.Config, error) {
	if !s.configured() {
		return nil, usagef("no server configured: give --issuer URL, --provider NAME or --token-url URL")
	}
	if s.ClientID == "" {
		return nil, usagef("no client: give --client-id ID")
	}
	e, err := a.endpoint(ctx, s)
	if err != nil {
		return nil, err
	}
	cfg := &pixie.Config{
		ClientID:   s.ClientID,
		AuthMethod: pixie.AuthMethod(s.AuthMethod),
		Endpoint:   e,
		Scopes:     s.Scopes,
		HTTPClient: a.httpClient(),
		Logger:     a.logger(),

		AllowInsecureHTTP: s.AllowInsecureHTTP,
	}
	if cfg.ClientSecret, err = a.secret(ctx, s); err != nil {
		return nil, err
	}
	if s.PrivateKey != "" {
		if cfg.ClientKey, err = readPrivateKey(s.PrivateKey); err != nil {
			return nil, err
		}
	}
	if _, err := cfg.EffectiveAuthMethod(); err != nil {
		return nil, usageErr(err)
	}
	return cfg, nil
}

// secret loads the client secret from where s says it is.
func (a *app) secret(ctx context.Context, s Settings) (pixie.Secret, error) {
	switch {
	case s.ClientSecretEnv != "":
		v := a.getenv(s.ClientSecretEnv)
		if v == "" {
			return pixie.Secret{}, fmt.Errorf("client secret: environment variable %s is not set or empty", s.ClientSecretEnv)
		}
		return pixie.NewSecret(v), nil
	case s.ClientSecretFile != "":
		return pixie.SecretFromFile(s.ClientSecretFile)
	case s.ClientSecretCmd != "":
		args, err := commandLine(s.ClientSecretCmd)
		if err != nil || len(args) == 0 {
			return pixie.Secret{}, s.invalid("client_secret_cmd", fmt.Errorf("%q: want a command, such as \"pass show my/client\"", s.ClientSecretCmd))
		}
		return pixie.SecretFromCommand(ctx, args[0], args[1:]...)
	}
	return pixie.Secret{}, nil
}

// readPrivateKey reads a PEM-encoded PKCS #8, PKCS #1 or SEC 1 private key.
func readPrivateKey(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("private key %s: no PEM block found", path)
	}
	var key any
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("private key %s: %w", path, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("private key %s: %T cannot sign", path, key)
	}
	return signer, nil
}

// resourceOptions name the resources of s, which the authorization request
// and the token request both carry (RFC 8707 section 2).
func (s Settings) resourceOptions() []pixie.Option {
	var opts []pixie.Option
	for _, r := range s.Resources {
		opts = append(opts, pixie.Resource(r))
	}
	return opts
}

// requestOptions are the per-request options of s: scopes are in the Config.
func (s Settings) requestOptions() []pixie.Option {
	opts := s.resourceOptions()
	if s.Audience != "" {
		opts = append(opts, pixie.Audience(s.Audience))
	}
	for _, k := range slices.Sorted(maps.Keys(s.Params)) {
		opts = append(opts, pixie.Param(k, s.Params[k]))
	}
	return opts
}
