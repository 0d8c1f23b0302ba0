// Package wire performs one exchange with an OAuth 2.0 endpoint: it builds the form
// POST, authenticates the client, retries temporary failures, bounds what it reads,
// and decodes token responses in every format servers use.
package wire

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// MaxBody bounds every response body pixie reads from an authorization server.
// Token, metadata and JWKS documents are a few kilobytes; anything near this size
// is not one of them.
const MaxBody = 1 << 20

// ErrBodyTooLarge is returned when a response body exceeds MaxBody.
var ErrBodyTooLarge = fmt.Errorf("response body larger than %d bytes", MaxBody)

// ReadBody reads r up to MaxBody bytes and fails if there is more.
func ReadBody(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxBody+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxBody {
		return nil, ErrBodyTooLarge
	}
	return b, nil
}

// CheckURL refuses an endpoint URL that would send credentials in the clear: only
// https is accepted, and http only on a loopback host ([IsLoopback]) or when
// allowInsecure is set (OAuth 2.1 section 1.5, RFC 8252 section 8.3). It also
// refuses URLs with a fragment (RFC 6749 section 3.1) or user info.
func CheckURL(raw string, allowInsecure bool) error {
	if raw == "" {
		return errors.New("no URL configured")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// The parse error quotes the URL, which may hold a password.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("invalid URL: %w", err)
	}
	// Messages show the URL without its password.
	shown := u.Redacted()
	if u.User != nil {
		return fmt.Errorf("URL %q must not carry user info", shown)
	}
	if u.Host == "" {
		return fmt.Errorf("URL %q has no host", shown)
	}
	if u.Fragment != "" {
		return fmt.Errorf("URL %q must not have a fragment", shown)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "http":
		if allowInsecure || IsLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("refusing http:// URL %q: credentials would cross the network unencrypted; use https, or allow insecure HTTP explicitly", shown)
	}
	return fmt.Errorf("URL %q: scheme %q is not https", shown, u.Scheme)
}

// IsLoopback reports whether host (without port) is a loopback name or address:
// "localhost", 127.0.0.0/8 or ::1.
//
// Names under .localhost are not loopback here, although RFC 6761 section 6.3
// reserves them for it: pixie does not resolve the names it connects to, the
// http.Client does, and Go's resolver (as glibc's without nss-myhostname) sends
// "app.localhost" to the network's DNS server like any other name, so whoever
// answers chooses where the credentials go. Resolving them to loopback here
// would take a dialer of pixie's in every client, the caller's own HTTPClient
// included. "localhost" itself is answered from the hosts file.
func IsLoopback(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}

// maxRedirects is how many redirects GuardRedirects follows, as net/http does by
// default.
const maxRedirects = 10

// GuardRedirects returns a copy of c (nil: a client with DefaultTimeout) that
// follows a redirect only to a URL CheckURL accepts, and never from https to http
// unless allowInsecure. net/http would otherwise follow a redirect from https to
// http on the same host, sending the Authorization header in the clear, or fetch a
// document (metadata, keys) that anyone on the network could replace. c's own
// CheckRedirect, if any, is applied after.
func GuardRedirects(c *http.Client, allowInsecure bool) *http.Client {
	if c == nil {
		c = defaultHTTP
	}
	g := *c
	g.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		shown := req.URL.Redacted()
		if err := CheckURL(req.URL.String(), allowInsecure); err != nil {
			return fmt.Errorf("refusing a redirect to %q: %w", shown, err)
		}
		if !allowInsecure && via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
			return fmt.Errorf("refusing a redirect from https to http (%q)", shown)
		}
		if c.CheckRedirect != nil {
			return c.CheckRedirect(req, via)
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		return nil
	}
	return &g
}
