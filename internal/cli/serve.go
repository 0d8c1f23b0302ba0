package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
)

// serveOptions are the options of pixie serve. Flags given on the command line
// override the --config file's settings and add to its clients and users.
type serveOptions struct {
	*app
	addr       string
	issuer     string
	configFile string
	clients    []string
	users      []string
	quiet      bool

	tokenFormat                 string
	accessTTL, refreshTTL       time.Duration
	deviceInterval              time.Duration
	autoApprove, enablePassword bool
	faults                      devserver.Faults
	// changed reports whether a flag was given, so that only given flags
	// override the file.
	changed func(name string) bool
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
			opts.changed = cmd.Flags().Changed
			return runServe(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.addr, "addr", "127.0.0.1:9000", "listen `ADDRESS` (port 0 picks a free one)")
	f.StringVar(&opts.issuer, "issuer", "", "issuer `URL` (default http://ADDRESS)")
	f.StringVar(&opts.configFile, "config", "", "clients, users and settings from a YAML or JSON `FILE`")
	f.StringArrayVar(&opts.clients, "client", nil, "register client `id:secret:redirect_uri[,...]` (repeatable)")
	f.StringArrayVar(&opts.users, "user", nil, "register user `name:password` (repeatable)")
	f.BoolVar(&opts.autoApprove, "auto-approve", false, "skip the login and consent pages (the redirect with code and state still happens)")
	f.BoolVar(&opts.enablePassword, "enable-password", false, "enable the resource owner password grant, which OAuth 2.1 removes")
	f.StringVar(&opts.tokenFormat, "token-format", "jwt", "access token `FORMAT`: jwt (RFC 9068) or opaque")
	f.DurationVar(&opts.accessTTL, "access-token-ttl", time.Hour, "access token lifetime")
	f.DurationVar(&opts.refreshTTL, "refresh-token-ttl", 30*24*time.Hour, "refresh token lifetime")
	f.DurationVar(&opts.deviceInterval, "device-interval", 5*time.Second, "device grant polling interval, whole seconds")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "do not log each request")
	f.DurationVar(&opts.faults.Latency, "latency", 0, "fault: delay each token response by `DURATION`")
	f.Float64Var(&opts.faults.FailureRate, "failure-rate", 0, "fault: fail this fraction (0 to 1) of token requests with 503")
	f.IntVar(&opts.faults.RateLimit, "rate-limit", 0, "fault: answer the next `N` token requests with 429 and Retry-After")
	f.DurationVar(&opts.faults.ClockOffset, "clock-offset", 0, "fault: move the server's clock by `DURATION` (negative: back)")
	_ = cmd.RegisterFlagCompletionFunc("token-format", cobra.FixedCompletions([]string{"jwt", "opaque"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// serverOptions builds the devserver options: the --config file, then the flags.
func (opts *serveOptions) serverOptions(issuer string) (devserver.Options, error) {
	var o devserver.Options
	if opts.configFile != "" {
		var err error
		if o, err = devserver.LoadConfig(opts.configFile); err != nil {
			return o, usageErr(err)
		}
	}
	set := func(flag string, apply func()) {
		if opts.changed(flag) {
			apply()
		}
	}
	set("token-format", func() { o.AccessTokenFormat = devserver.TokenFormat(opts.tokenFormat) })
	set("access-token-ttl", func() { o.AccessTokenTTL = opts.accessTTL })
	set("refresh-token-ttl", func() { o.RefreshTokenTTL = opts.refreshTTL })
	set("device-interval", func() { o.DeviceInterval = opts.deviceInterval })
	set("auto-approve", func() { o.AutoApprove = opts.autoApprove })
	set("enable-password", func() { o.EnablePassword = opts.enablePassword })
	set("latency", func() { o.Faults.Latency = opts.faults.Latency })
	set("failure-rate", func() { o.Faults.FailureRate = opts.faults.FailureRate })
	set("rate-limit", func() { o.Faults.RateLimit = opts.faults.RateLimit })
	set("clock-offset", func() { o.Faults.ClockOffset = opts.faults.ClockOffset })
	switch {
	case opts.issuer != "":
		o.Issuer = opts.issuer
	case o.Issuer == "":
		o.Issuer = issuer
	}
	switch o.AccessTokenFormat {
	case "", devserver.FormatJWT, devserver.FormatOpaque:
	default:
		return o, usagef("--token-format %q: want jwt or opaque", o.AccessTokenFormat)
	}
	if f := o.Faults.FailureRate; f < 0 || f > 1 {
		return o, usagef("--failure-rate %v: want a fraction from 0 to 1", f)
	}
	for _, spec := range opts.clients {
		c, err := devserver.ParseClientSpec(spec)
		if err != nil {
			return o, usageErr(err)
		}
		o.Clients = append(o.Clients, c)
	}
	for _, spec := range opts.users {
		u, err := devserver.ParseUserSpec(spec)
		if err != nil {
			return o, usageErr(err)
		}
		o.Users = append(o.Users, u)
	}
	if len(o.Clients) == 0 {
		o.Clients = []devserver.Client{
			{ID: defaultPublicClient, AuthMethod: pixie.AuthNone, RedirectURIs: []string{"http://127.0.0.1/callback"}, Name: "pixie command line"},
			{ID: defaultServiceClient, Secret: pixie.NewSecret(defaultServiceSecret), AuthMethod: pixie.ClientSecretBasic, Name: "a service"},
		}
	}
	return o, nil
}

func runServe(ctx context.Context, opts *serveOptions) error {
	if _, _, err := net.SplitHostPort(opts.addr); err != nil {
		return usagef("--addr %q: want HOST:PORT, such as 127.0.0.1:9000", opts.addr)
	}
	ln, err := net.Listen("tcp", opts.addr)
	if err != nil {
		// %v: a local failure, not a temporary one of a server's.
		return fmt.Errorf("listen on %s: %v", opts.addr, err)
	}
	defer ln.Close()
	o, err := opts.serverOptions("http://" + ln.Addr().String())
	if err != nil {
		return err
	}
	if !opts.quiet {
		o.Logger = slog.New(slog.NewTextHandler(opts.stderr, &slog.HandlerOptions{ReplaceAttr: func(_ []string, at slog.Attr) slog.Attr { return redactAttr(at) }}))
	}
	ds, err := devserver.New(o)
	if err != nil {
		return usageErr(err)
	}
	defer ds.Close()
	if err := ds.WriteBanner(opts.stderr); err != nil {
		return err
	}
	if c, ok := ds.Client(defaultServiceClient); ok && c.Secret.Reveal() == defaultServiceSecret {
		fmt.Fprintf(opts.stderr, "  (the default client %s has the published secret: export CLIENT_SECRET=%s)\n", defaultServiceClient, defaultServiceSecret)
	}
	fmt.Fprintln(opts.stderr, "\nServing until interrupted (Ctrl-C).")
	srv := &http.Server{Handler: ds, ReadHeaderTimeout: 10 * time.Second}
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
