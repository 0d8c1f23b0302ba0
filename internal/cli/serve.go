package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
)

// serveOptions are the options of pixie serve.
type serveOptions struct {
	*app
	addr       string
	issuer     string
	configFile string
	clients    []string
	users      []string
	file       serveFile
	quiet      bool
	// faults are injected from the start; PUT /admin/faults changes them.
	faults devserver.Faults
}

// serveFile is the --config file of pixie serve, YAML or JSON. Flags given on
// the command line override its settings and add to its clients and users.
type serveFile struct {
	Issuer          string       `yaml:"issuer"`
	Clients         []fileClient `yaml:"clients"`
	Users           []fileUser   `yaml:"users"`
	AutoApprove     bool         `yaml:"auto_approve"`
	EnablePassword  bool         `yaml:"enable_password"`
	TokenFormat     string       `yaml:"token_format"`
	AccessTokenTTL  duration     `yaml:"access_token_ttl"`
	RefreshTokenTTL duration     `yaml:"refresh_token_ttl"`
	IDTokenTTL      duration     `yaml:"id_token_ttl"`
	DeviceInterval  duration     `yaml:"device_interval"`
}

type fileClient struct {
	ID           string   `yaml:"id"`
	Secret       string   `yaml:"secret"`
	AuthMethod   string   `yaml:"auth_method"`
	RedirectURIs []string `yaml:"redirect_uris"`
	GrantTypes   []string `yaml:"grant_types"`
	Scopes       []string `yaml:"scopes"`
	Name         string   `yaml:"name"`
}

type fileUser struct {
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	Subject  string `yaml:"subject"`
	Name     string `yaml:"name"`
	Email    string `yaml:"email"`
}

// duration is a time.Duration written as a Go duration string ("90s", "1h").
type duration time.Duration

func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = duration(v)
	return nil
}

// Default registrations of pixie serve, used when neither flags nor the config
// file register any. The secret is published here: this is a development
// server.
const (
	defaultPublicClient  = "cli"
	defaultServiceClient = "service"
	defaultServiceSecret = "service-secret"
)

func newServeCmd(a *app) *cobra.Command {
	opts := &serveOptions{app: a}
	var format string
	var accessTTL, refreshTTL, deviceInterval time.Duration
	var autoApprove, enablePassword bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a local authorization server for development and tests",
		Long: `Run pixie's development authorization server: every grant, a real login
and consent page, revocation, introspection, discovery and fault injection
(--latency, --failure-rate, --rate-limit, --clock-offset, and PUT /admin/faults
at run time). It is a development server, not for production: it keeps
everything in memory and listens on loopback.

Clients: --client id:secret:redirect_uri[,redirect_uri...] (an empty secret makes
a public client), repeatable. Users: --user name:password, repeatable. Without
any, a public client "cli", a confidential client "service" (secret
"service-secret") and the user dev/dev are registered.`,
		Example: `  pixie serve --addr 127.0.0.1:9000
  pixie serve --client web:web-secret:http://127.0.0.1/callback --user alice:wonderland --auto-approve
  pixie serve --config devserver.yaml --token-format opaque --access-token-ttl 5m`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.configFile != "" {
				if err := opts.readConfig(); err != nil {
					return err
				}
			}
			f := cmd.Flags()
			if f.Changed("token-format") {
				opts.file.TokenFormat = format
			}
			if f.Changed("access-token-ttl") {
				opts.file.AccessTokenTTL = duration(accessTTL)
			}
			if f.Changed("refresh-token-ttl") {
				opts.file.RefreshTokenTTL = duration(refreshTTL)
			}
			if f.Changed("device-interval") {
				opts.file.DeviceInterval = duration(deviceInterval)
			}
			if f.Changed("auto-approve") {
				opts.file.AutoApprove = autoApprove
			}
			if f.Changed("enable-password") {
				opts.file.EnablePassword = enablePassword
			}
			if f.Changed("issuer") {
				opts.file.Issuer = opts.issuer
			}
			return runServe(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.addr, "addr", "127.0.0.1:9000", "listen `ADDRESS` (port 0 picks a free one)")
	f.StringVar(&opts.issuer, "issuer", "", "issuer `URL` (default http://ADDRESS)")
	f.StringVar(&opts.configFile, "config", "", "clients, users and settings from a YAML or JSON `FILE`")
	f.StringArrayVar(&opts.clients, "client", nil, "register client `id:secret:redirect_uri[,...]` (repeatable)")
	f.StringArrayVar(&opts.users, "user", nil, "register user `name:password` (repeatable)")
	f.BoolVar(&autoApprove, "auto-approve", false, "skip the login and consent pages (the redirect with code and state still happens)")
	f.BoolVar(&enablePassword, "enable-password", false, "enable the resource owner password grant, which OAuth 2.1 removes")
	f.StringVar(&format, "token-format", "jwt", "access token `FORMAT`: jwt (RFC 9068) or opaque")
	f.DurationVar(&accessTTL, "access-token-ttl", time.Hour, "access token lifetime")
	f.DurationVar(&refreshTTL, "refresh-token-ttl", 30*24*time.Hour, "refresh token lifetime")
	f.DurationVar(&deviceInterval, "device-interval", 5*time.Second, "device grant polling interval, whole seconds")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "do not log each request")
	f.DurationVar(&opts.faults.Latency, "latency", 0, "fault: delay each token response by `DURATION`")
	f.Float64Var(&opts.faults.FailureRate, "failure-rate", 0, "fault: fail this fraction (0 to 1) of token requests with 503")
	f.IntVar(&opts.faults.RateLimit, "rate-limit", 0, "fault: answer the next `N` token requests with 429 and Retry-After")
	f.DurationVar(&opts.faults.ClockOffset, "clock-offset", 0, "fault: move the server's clock by `DURATION` (negative: back)")
	_ = cmd.RegisterFlagCompletionFunc("token-format", cobra.FixedCompletions([]string{"jwt", "opaque"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// readConfig reads --config.
func (opts *serveOptions) readConfig() error {
	b, err := os.ReadFile(opts.configFile)
	if err != nil {
		return usageErr(err)
	}
	d := yaml.NewDecoder(bytes.NewReader(b))
	d.KnownFields(true)
	if err := d.Decode(&opts.file); err != nil && !errors.Is(err, io.EOF) {
		return usagef("--config %s: %v", opts.configFile, err)
	}
	return nil
}

// serverOptions builds the devserver options for issuer.
func (opts *serveOptions) serverOptions(issuer string) (devserver.Options, error) {
	o := devserver.Options{
		Issuer:          issuer,
		AutoApprove:     opts.file.AutoApprove,
		EnablePassword:  opts.file.EnablePassword,
		AccessTokenTTL:  time.Duration(opts.file.AccessTokenTTL),
		RefreshTokenTTL: time.Duration(opts.file.RefreshTokenTTL),
		IDTokenTTL:      time.Duration(opts.file.IDTokenTTL),
		DeviceInterval:  time.Duration(opts.file.DeviceInterval),
		Faults:          opts.faults,
	}
	if f := opts.faults.FailureRate; f < 0 || f > 1 {
		return o, usagef("--failure-rate %v: want a fraction from 0 to 1", f)
	}
	switch opts.file.TokenFormat {
	case "", "jwt":
		o.AccessTokenFormat = devserver.FormatJWT
	case "opaque":
		o.AccessTokenFormat = devserver.FormatOpaque
	default:
		return o, usagef("--token-format %q: want jwt or opaque", opts.file.TokenFormat)
	}
	for _, c := range opts.file.Clients {
		o.Clients = append(o.Clients, devserver.Client{
			ID: c.ID, Secret: secretOrZero(c.Secret), AuthMethod: pixie.AuthMethod(c.AuthMethod),
			RedirectURIs: c.RedirectURIs, GrantTypes: c.GrantTypes, Scopes: c.Scopes, Name: c.Name,
		})
	}
	for _, spec := range opts.clients {
		c, err := parseClientFlag(spec)
		if err != nil {
			return o, err
		}
		o.Clients = append(o.Clients, c)
	}
	for _, u := range opts.file.Users {
		o.Users = append(o.Users, devserver.User{Username: u.Username, Password: pixie.NewSecret(u.Password), Subject: u.Subject, Name: u.Name, Email: u.Email})
	}
	for _, spec := range opts.users {
		name, pw, ok := strings.Cut(spec, ":")
		if !ok || name == "" || pw == "" {
			return o, usagef("--user %q: want name:password", spec)
		}
		o.Users = append(o.Users, devserver.User{Username: name, Password: pixie.NewSecret(pw)})
	}
	if len(o.Clients) == 0 {
		o.Clients = []devserver.Client{
			{ID: defaultPublicClient, AuthMethod: pixie.AuthNone, RedirectURIs: []string{"http://127.0.0.1/callback"}, Name: "pixie command line"},
			{ID: defaultServiceClient, Secret: pixie.NewSecret(defaultServiceSecret), Name: "a service"},
		}
	}
	return o, nil
}

func secretOrZero(s string) pixie.Secret {
	if s == "" {
		return pixie.Secret{}
	}
	return pixie.NewSecret(s)
}

// parseClientFlag parses --client id:secret:redirect_uri[,redirect_uri...]. An
// empty secret registers a public client.
func parseClientFlag(spec string) (devserver.Client, error) {
	parts := strings.SplitN(spec, ":", 3)
	c := devserver.Client{ID: parts[0]}
	if c.ID == "" {
		return c, usagef("--client %q: want id:secret:redirect_uri[,...]", spec)
	}
	if len(parts) > 1 && parts[1] != "" {
		c.Secret = pixie.NewSecret(parts[1])
	} else {
		c.AuthMethod = pixie.AuthNone
	}
	if len(parts) > 2 && parts[2] != "" {
		c.RedirectURIs = strings.Split(parts[2], ",")
	}
	return c, nil
}

func runServe(ctx context.Context, opts *serveOptions) error {
	ln, err := net.Listen("tcp", opts.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", opts.addr, err)
	}
	issuer := opts.file.Issuer
	if issuer == "" {
		issuer = "http://" + ln.Addr().String()
	}
	o, err := opts.serverOptions(issuer)
	if err != nil {
		ln.Close()
		return err
	}
	if !opts.quiet {
		o.Logger = slog.New(slog.NewTextHandler(opts.stderr, &slog.HandlerOptions{ReplaceAttr: func(_ []string, at slog.Attr) slog.Attr { return redactAttr(at) }}))
	}
	ds, err := devserver.New(o)
	if err != nil {
		ln.Close()
		return usageErr(err)
	}
	srv := &http.Server{Handler: ds, ReadHeaderTimeout: 10 * time.Second}
	banner(opts.stderr, ds, o)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	fmt.Fprintln(opts.stderr, "pixie serve: shut down")
	return nil
}

// banner prints what the server offers and how to use it.
func banner(w io.Writer, ds *devserver.Server, o devserver.Options) {
	issuer := ds.Issuer()
	fmt.Fprintf(w, "pixie development server: for development and tests, not for production\n\n")
	fmt.Fprintf(w, "Issuer:    %s\n", issuer)
	fmt.Fprintf(w, "Discovery: %s/.well-known/openid-configuration\n", issuer)
	fmt.Fprintf(w, "Tokens:    %s access tokens\n\nClients:\n", o.AccessTokenFormat)
	for _, c := range o.Clients {
		kind := "public (none)"
		if !c.Secret.IsZero() {
			kind = "confidential (" + cmpOrMethod(c) + ")"
		}
		fmt.Fprintf(w, "  %-14s %s", c.ID, kind)
		if len(c.RedirectURIs) > 0 {
			fmt.Fprintf(w, "  redirect %s", strings.Join(c.RedirectURIs, ", "))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "\nUsers:")
	if len(o.Users) == 0 {
		fmt.Fprintln(w, "  dev (password dev)")
	}
	for _, u := range o.Users {
		fmt.Fprintf(w, "  %s\n", u.Username)
	}
	if o.AutoApprove {
		fmt.Fprintln(w, "  (auto-approve: logins are approved for the first user without pages)")
	}
	fmt.Fprintln(w, "\nTry:")
	var public, confidential *devserver.Client
	for i := range o.Clients {
		c := &o.Clients[i]
		if c.Secret.IsZero() && public == nil && len(c.RedirectURIs) > 0 {
			public = c
		}
		if !c.Secret.IsZero() && confidential == nil {
			confidential = c
		}
	}
	if public != nil {
		fmt.Fprintf(w, "  pixie login --issuer %s --client-id %s --scope \"openid offline_access\"\n", issuer, public.ID)
		fmt.Fprintf(w, "  pixie login --issuer %s --client-id %s --grant device_code\n", issuer, public.ID)
	}
	if confidential != nil {
		secret := "<its secret>"
		if confidential.ID == defaultServiceClient && confidential.Secret.Reveal() == defaultServiceSecret {
			secret = defaultServiceSecret
		}
		fmt.Fprintf(w, "  export CLIENT_SECRET=%s\n", secret)
		fmt.Fprintf(w, "  pixie token --issuer %s --client-id %s --client-secret-env CLIENT_SECRET --grant client_credentials -o json\n", issuer, confidential.ID)
	}
	if f := o.Faults; f.Latency != 0 || f.FailureRate != 0 || f.RateLimit != 0 || f.ClockOffset != 0 {
		fmt.Fprintf(w, "\nFaults injected: %s (change them with PUT %s/admin/faults)\n", faultsJSON(o.Faults), issuer)
	}
	fmt.Fprintln(w, "\nServing until interrupted (Ctrl-C).")
}

// cmpOrMethod names a confidential client's authentication method.
func cmpOrMethod(c devserver.Client) string {
	if c.AuthMethod != "" {
		return string(c.AuthMethod)
	}
	return string(pixie.ClientSecretBasic)
}

// faultsJSON shows faults in the form PUT /admin/faults takes.
func faultsJSON(f devserver.Faults) string {
	b, err := f.MarshalJSON()
	if err != nil {
		return err.Error()
	}
	return string(b)
}
