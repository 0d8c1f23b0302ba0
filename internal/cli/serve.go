package cli

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
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
	public     bool
	// resources serves the devserver's protected resources (--resource).
	resources bool

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
	defaultUser          = "dev" // the devserver's user when none is given; password dev
)

// adminTokenEnv names the environment variable that gives pixie serve --public
// its admin token.
const adminTokenEnv = "PIXIE_SERVE_ADMIN_TOKEN"

// checkDurations refuses duration flags the server would not honour: a
// lifetime of zero or less (Options would silently use the default) and a
// polling interval that is not a whole number of seconds (RFC 8628 section
// 3.2 gives it in seconds).
func (opts *serveOptions) checkDurations() error {
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"access-token-ttl", opts.accessTTL}, {"refresh-token-ttl", opts.refreshTTL}, {"device-interval", opts.deviceInterval}} {
		if opts.changed(d.flag) && d.v <= 0 {
			return usagef("--%s %s: want a positive duration, such as 5m", d.flag, d.v)
		}
	}
	if opts.changed("device-interval") && opts.deviceInterval%time.Second != 0 {
		return usagef("--device-interval %s: want a whole number of seconds, such as 5s", opts.deviceInterval)
	}
	return nil
}

func newServeCmd(a *app) *cobra.Command {
	opts := &serveOptions{app: a}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a local authorization server for development and tests",
		Long: `Run pixie's development authorization server: every grant, a real login
and consent page, revocation, introspection, discovery and fault injection
(--latency, --failure-rate, --rate-limit, --clock-offset, and PUT /admin/faults
at run time). It is a development server, not for production: it keeps
everything in memory and listens on loopback only.

With --public it listens on any address, such as 0.0.0.0:9000 (then give
--issuer, the URL clients reach it at), and requires an admin token as a
bearer token for /admin/* and as the initial access token of dynamic client
registration (/register, RFC 7591 section 3). The token comes from
$` + adminTokenEnv + `, or is generated and printed once at start.

Clients: --client id:secret:redirect_uri[,redirect_uri...] (an empty secret makes
a public client), repeatable. Users: --user name:password, repeatable. Secrets
given this way show in the process list (ps) to other local users: put clients
and users with secrets in a --config file instead. Without any, a public client
"cli", a confidential client "service" (secret "service-secret") and the user
dev/dev are registered.

With --resource the server is also a protected resource, as MCP servers are:
its userinfo endpoint and a demo API at /api (/api/admin needs the admin
scope) publish RFC 9728 metadata, name it in their 401 challenges, and accept
only tokens minted for them (RFC 8707). pixie login --resource URL and pixie
curl URL reach them from their URL alone.`,
		Example: `  pixie serve --config devserver.yaml        # clients and users, secrets included, from a file
  pixie serve --addr 127.0.0.1:9000
  pixie serve --resource                     # then: pixie curl http://127.0.0.1:9000/api
  pixie serve --client cli::http://127.0.0.1/callback --auto-approve --token-format opaque --access-token-ttl 5m
  ` + adminTokenEnv + `=$(cat admin.token) pixie serve --public --addr 0.0.0.0:9000 --issuer http://devbox:9000 --config devserver.yaml`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.changed = cmd.Flags().Changed
			return runServe(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.addr, "addr", "127.0.0.1:9000", "listen `ADDRESS`, a loopback one unless --public (port 0 picks a free one)")
	f.StringVar(&opts.issuer, "issuer", "", "issuer `URL` (default http://ADDRESS)")
	f.StringVar(&opts.configFile, "config", "", "clients, users and settings from a YAML or JSON `FILE`")
	f.StringArrayVar(&opts.clients, "client", nil, "register client `id:secret:redirect_uri[,...]` (repeatable)")
	f.StringArrayVar(&opts.users, "user", nil, "register user `name:password` (repeatable)")
	f.BoolVar(&opts.autoApprove, "auto-approve", false, "skip the login and consent pages (the redirect with code and state still happens)")
	f.BoolVar(&opts.enablePassword, "enable-password", false, "enable the resource owner password grant, which OAuth 2.1 removes")
	f.StringVar(&opts.tokenFormat, "token-format", "jwt", "access token `FORMAT`: jwt (RFC 9068) or opaque")
	f.DurationVar(&opts.accessTTL, "access-token-ttl", time.Hour, "access token lifetime (positive)")
	f.DurationVar(&opts.refreshTTL, "refresh-token-ttl", 30*24*time.Hour, "refresh token lifetime (positive)")
	f.DurationVar(&opts.deviceInterval, "device-interval", 5*time.Second, "device grant polling interval, whole seconds")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "do not log each request")
	f.BoolVar(&opts.public, "public", false, "allow a non-loopback --addr, and require an admin token for /admin/* and /register")
	f.BoolVar(&opts.resources, "resource", false, "serve protected resources with RFC 9728 metadata: userinfo and a demo API at /api (/api/admin needs the admin scope)")
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
	if err := opts.checkDurations(); err != nil {
		return o, err
	}
	set("token-format", func() { o.AccessTokenFormat = devserver.TokenFormat(opts.tokenFormat) })
	set("access-token-ttl", func() { o.AccessTokenTTL = opts.accessTTL })
	set("refresh-token-ttl", func() { o.RefreshTokenTTL = opts.refreshTTL })
	set("device-interval", func() { o.DeviceInterval = opts.deviceInterval })
	set("auto-approve", func() { o.AutoApprove = opts.autoApprove })
	set("enable-password", func() { o.EnablePassword = opts.enablePassword })
	set("resource", func() { o.ProtectedResources = opts.resources })
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
	var inArgv []string // the flags that carry a secret
	for _, spec := range opts.clients {
		c, err := devserver.ParseClientSpec(spec)
		if err != nil {
			return o, usageErr(err)
		}
		if !c.Secret.IsZero() && !(c.ID == defaultServiceClient && c.Secret.Reveal() == defaultServiceSecret) {
			inArgv = append(inArgv, "--client "+c.ID)
		}
		o.Clients = append(o.Clients, c)
	}
	for _, spec := range opts.users {
		u, err := devserver.ParseUserSpec(spec)
		if err != nil {
			return o, usageErr(err)
		}
		if u.Username != defaultUser || u.Password.Reveal() != defaultUser {
			inArgv = append(inArgv, "--user "+u.Username)
		}
		o.Users = append(o.Users, u)
	}
	if len(inArgv) > 0 {
		// Any local user can read a process's arguments (ps, /proc/PID/cmdline).
		fmt.Fprintf(opts.stderr, "pixie serve: warning: the secrets of %s are on the command line, where other local users can read them (ps); put clients and users in a --config file instead\n",
			strings.Join(inArgv, ", "))
	}
	if len(o.Clients) == 0 {
		o.Clients = []devserver.Client{
			{ID: defaultPublicClient, AuthMethod: pixie.AuthNone, RedirectURIs: []string{"http://127.0.0.1/callback"}, Name: "pixie command line"},
			{ID: defaultServiceClient, Secret: pixie.NewSecret(defaultServiceSecret), AuthMethod: pixie.ClientSecretBasic, Name: "a service"},
		}
	}
	return o, nil
}

// isLoopbackHost reports whether host, from --addr, is "localhost" or a
// loopback IP address, which net.Listen binds to loopback interfaces only.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func runServe(ctx context.Context, opts *serveOptions) error {
	host, _, err := net.SplitHostPort(opts.addr)
	if err != nil {
		return usagef("--addr %q: want HOST:PORT, such as 127.0.0.1:9000", opts.addr)
	}
	// A development server with published secrets, an open admin API and open
	// registration must not be reachable from the network by mistake.
	if !opts.public && !isLoopbackHost(host) {
		return usagef("--addr %q is not a loopback address: pixie serve listens on 127.0.0.1, ::1 or localhost unless --public is given", opts.addr)
	}
	var adminToken pixie.Secret
	if opts.public {
		if adminToken, err = opts.adminToken(); err != nil {
			return err
		}
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
	if opts.public {
		if ip := net.ParseIP(host); o.Issuer == "http://"+ln.Addr().String() && (host == "" || ip != nil && ip.IsUnspecified()) {
			return usagef("--public --addr %q needs --issuer, the URL clients reach the server at, such as http://HOSTNAME:PORT", opts.addr)
		}
		o.AdminToken, o.RegistrationToken = adminToken, adminToken
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
	var published []string // registrations whose secret anyone can read in this file
	if c, ok := ds.Client(defaultServiceClient); ok && c.Secret.Reveal() == defaultServiceSecret {
		fmt.Fprintf(opts.stderr, "  (the default client %s has the published secret: export CLIENT_SECRET=%s)\n", defaultServiceClient, defaultServiceSecret)
		published = append(published, "client "+defaultServiceClient)
	}
	if len(o.Users) == 0 {
		published = append(published, "user "+defaultUser)
	}
	if opts.public {
		opts.writePublicNotice(o.Issuer, adminToken, published)
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

// adminToken returns the admin token of pixie serve --public: from
// $PIXIE_SERVE_ADMIN_TOKEN, or a new random one that writePublicNotice prints.
func (opts *serveOptions) adminToken() (pixie.Secret, error) {
	if v := opts.getenv(adminTokenEnv); v != "" {
		return pixie.NewSecret(v), nil
	}
	return pixie.NewSecret(rand.Text()), nil
}

// writePublicNotice tells what --public means for a server at issuer: how to
// authenticate to the admin API and registration (printing a generated token
// this once), and the risks of plain http and of the published default
// registrations.
func (opts *serveOptions) writePublicNotice(issuer string, token pixie.Secret, published []string) {
	w := opts.stderr
	if opts.getenv(adminTokenEnv) == "" {
		fmt.Fprintf(w, "\nAdmin token (shown this once; set %s to choose it): %s\n", adminTokenEnv, token.Reveal())
	} else {
		fmt.Fprintf(w, "\nAdmin token: from %s\n", adminTokenEnv)
	}
	fmt.Fprintln(w, "  /admin/* and /register (RFC 7591) require it: Authorization: Bearer <admin token>")
	if strings.HasPrefix(issuer, "http://") {
		fmt.Fprintln(w, "pixie serve: warning: --public over plain http: passwords, codes and tokens cross the network unencrypted")
	}
	if len(published) > 0 {
		fmt.Fprintf(w, "pixie serve: warning: --public with the default %s, whose secrets are published; register your own with --config\n", strings.Join(published, " and "))
	}
}
