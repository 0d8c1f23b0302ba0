package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/spf13/cobra"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/internal/wire"
)

// inspectOptions are the options of pixie inspect.
type inspectOptions struct {
	*app
	token    string
	verify   bool
	issuer   string
	audience string
	output   string
	// allowInsecure accepts an http:// issuer or jwks_uri on a host other than
	// loopback.
	allowInsecure bool
}

func newInspectCmd(a *app) *cobra.Command {
	opts := &inspectOptions{app: a}
	cmd := &cobra.Command{
		Use:   "inspect [TOKEN|-]",
		Short: "Decode a JWT and, with --verify, check it",
		Long: `Decode a JWT (an access token or an ID token): its header, its claims and,
in human terms, when it expires. The token is the argument, standard input
with "-", or else the profile's stored access token. A token given as an
argument is visible to other users in the process list: prefer standard input,
as in pixie token | pixie inspect -.

With --verify --issuer URL, the signature is checked against the issuer's
published keys, and so are the iss, exp and nbf claims (and aud with
--audience).`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.token = args[0]
			}
			return runInspect(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.verify, "verify", false, "check the signature and claims against --issuer")
	cmd.Flags().StringVar(&opts.issuer, "issuer", "", "issuer `URL` whose keys sign the token")
	cmd.Flags().StringVar(&opts.audience, "audience", "", "with --verify, require `AUDIENCE` in the aud claim")
	cmd.Flags().StringVarP(&opts.output, "output", "o", "text", "output `FORMAT`: text or json")
	cmd.Flags().BoolVar(&opts.allowInsecure, "allow-insecure-http", false, "accept an http:// issuer on a host other than loopback, although anyone on the network could then replace its keys")
	return cmd
}

// asymmetric are the signature algorithms --verify accepts: never none or HMAC,
// which a holder of public keys must refuse (RFC 8725 section 3.1).
var asymmetric = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

func runInspect(ctx context.Context, opts *inspectOptions) error {
	if opts.output != "text" && opts.output != "json" {
		return usagef("--output %q: want text or json", opts.output)
	}
	if opts.verify && opts.issuer == "" {
		return usagef("--verify needs --issuer URL")
	}
	if opts.issuer != "" {
		if err := checkURL("--issuer", opts.issuer, opts.allowInsecure); err != nil {
			return err
		}
	}
	raw, err := opts.readToken(ctx)
	if err != nil {
		return err
	}
	header, claims, err := decodeJWT(raw)
	if err != nil {
		return err
	}
	var verified string
	if opts.verify {
		if verified, err = opts.verifyJWT(ctx, raw, claims); err != nil {
			return fmt.Errorf("the token does not verify: %w", err)
		}
	}
	// The token's header and claims may carry any text: jsonTerminalSafe
	// escapes the control characters encoding/json leaves raw.
	if opts.output == "json" {
		out := map[string]any{"header": header, "claims": claims}
		if opts.verify {
			out["verified"] = true
		}
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(opts.stdout, "%s\n", jsonTerminalSafe(b))
		return err
	}
	for _, part := range []struct {
		title string
		v     map[string]any
	}{{"Header", header}, {"Claims", claims}} {
		b, _ := json.MarshalIndent(part.v, "", "  ")
		fmt.Fprintf(opts.stdout, "%s:\n%s\n", part.title, jsonTerminalSafe(b))
	}
	now := opts.now()
	for _, c := range []struct{ name, label string }{{"iat", "Issued"}, {"nbf", "Not before"}, {"exp", "Expires"}} {
		if t, ok := numericDate(claims[c.name]); ok {
			fmt.Fprintf(opts.stdout, "%s: %s (%s)\n", c.label, t.UTC().Format(time.RFC3339), relative(t, now))
		}
	}
	if verified != "" {
		fmt.Fprintf(opts.stdout, "Verified: %s\n", terminalLine(verified))
	}
	return nil
}

// readToken returns the token to inspect.
func (opts *inspectOptions) readToken(ctx context.Context) (string, error) {
	switch opts.token {
	case "-":
		b, err := io.ReadAll(io.LimitReader(opts.stdin, 1<<20))
		if err != nil {
			return "", err
		}
		if raw := strings.TrimSpace(string(b)); raw != "" {
			return raw, nil
		}
		return "", errors.New("no token on standard input")
	case "":
	default:
		return opts.token, nil
	}
	st, err := opts.openStoreIfExists()
	if err != nil {
		return "", err
	}
	if st != nil {
		defer st.Close()
	}
	tok, err := load(ctx, st, opts.profileName())
	if errors.Is(err, pixie.ErrNotFound) {
		return "", loginRequired(opts.profileName(), fmt.Errorf("no token to inspect: give one as an argument, or log in (profile %q)", opts.profileName()))
	}
	if err != nil {
		return "", err
	}
	return tok.AccessToken.Reveal(), nil
}

// decodeJWT decodes the header and claims of a JWS compact serialization
// (RFC 7515 section 7.1) without checking anything.
func decodeJWT(raw string) (header, claims map[string]any, err error) {
	parts := strings.Split(raw, ".")
	if len(parts) == 5 {
		return nil, nil, errors.New("an encrypted JWT (JWE, RFC 7516): only the holder of its decryption key can read it")
	}
	if len(parts) != 3 {
		return nil, nil, errors.New("not a JWT (a JWT has three dot-separated parts); an opaque token can only be read by the server's introspection endpoint")
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return nil, nil, fmt.Errorf("not a JWT: part %d is not base64url: %w", i+1, err)
		}
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		if err := d.Decode(dst); err != nil {
			return nil, nil, fmt.Errorf("not a JWT: part %d is not a JSON object: %w", i+1, err)
		}
	}
	return header, claims, nil
}

// numericDate reads a NumericDate claim (RFC 7519 section 2).
func numericDate(v any) (time.Time, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, int64(f*float64(time.Second))), true
}

// relative describes t from now: "in 5m0s" or "3m0s ago".
func relative(t, now time.Time) string {
	d := t.Sub(now).Round(time.Second)
	if d >= 0 {
		return "in " + d.String()
	}
	return (-d).String() + " ago"
}

// verifyJWT checks raw's signature with the issuer's published keys and its
// iss, exp, nbf and (with --audience) aud claims (RFC 7519 section 7.2, RFC
// 9068 section 4). It returns a description of the key that verified it.
func (opts *inspectOptions) verifyJWT(ctx context.Context, raw string, claims map[string]any) (string, error) {
	d := &pixie.Discovery{HTTPClient: opts.httpClient(), AllowInsecureHTTP: opts.allowInsecure}
	m, err := d.Discover(ctx, opts.issuer)
	if err != nil {
		return "", err
	}
	if m.JWKSURI == "" {
		return "", fmt.Errorf("%s publishes no jwks_uri", opts.issuer)
	}
	keys, err := fetchJWKS(ctx, wire.GuardRedirects(opts.httpClient(), opts.allowInsecure), m.JWKSURI)
	if err != nil {
		return "", err
	}
	jws, err := jose.ParseSignedCompact(raw, asymmetric)
	if err != nil {
		return "", err
	}
	if len(jws.Signatures) != 1 {
		return "", errors.New("want exactly one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	var candidates []jose.JSONWebKey
	if kid != "" {
		candidates = keys.Key(kid)
	} else {
		candidates = keys.Keys
	}
	verified := false
	for _, k := range candidates {
		if _, err := jws.Verify(k); err == nil {
			verified = true
			break
		}
	}
	if !verified {
		return "", fmt.Errorf("no key of %s verifies the signature (kid %q)", m.JWKSURI, kid)
	}
	if iss, _ := claims["iss"].(string); iss != m.Issuer {
		return "", fmt.Errorf("iss is %q, want %q", iss, m.Issuer)
	}
	const leeway = time.Minute
	now := opts.now()
	exp, ok := numericDate(claims["exp"])
	if !ok {
		return "", errors.New("no exp claim")
	}
	if now.After(exp.Add(leeway)) {
		return "", fmt.Errorf("expired %s", relative(exp, now))
	}
	if nbf, ok := numericDate(claims["nbf"]); ok && now.Add(leeway).Before(nbf) {
		return "", fmt.Errorf("not valid before %s", nbf.UTC().Format(time.RFC3339))
	}
	if opts.audience != "" && !slices.Contains(audiences(claims["aud"]), opts.audience) {
		return "", fmt.Errorf("aud %v does not include %q", claims["aud"], opts.audience)
	}
	return fmt.Sprintf("signature %s by key %q of %s; iss, exp and nbf valid", jws.Signatures[0].Header.Algorithm, kid, m.Issuer), nil
}

// audiences reads the aud claim: a string or an array of strings.
func audiences(v any) []string {
	switch a := v.(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, x := range a {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// fetchJWKS fetches a JSON Web Key Set (RFC 7517 section 5) with client,
// which must refuse redirects to plain http (see [wire.GuardRedirects]): keys
// fetched in the clear could be anyone's, and a token signed with them would
// pass for verified. Discovery has already checked u itself.
func fetchJWKS(ctx context.Context, client *http.Client, u string) (*jose.JSONWebKeySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s: %s", u, resp.Status)
	}
	body, err := wire.ReadBody(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	var ks jose.JSONWebKeySet
	if err := json.Unmarshal(body, &ks); err != nil {
		return nil, fmt.Errorf("decode %s: %w", u, err)
	}
	return &ks, nil
}
