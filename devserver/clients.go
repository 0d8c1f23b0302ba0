package devserver

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/pixieauth/pixie"
)

// AddClient registers c, replacing nothing: registering an existing client ID is an
// error. With [Options.StatePath], the client is saved. It fails when c is inconsistent: an unknown authentication method, a
// secret method without a secret, private_key_jwt without keys, a redirect URI
// that is not absolute or has a fragment (RFC 6749 section 3.1.2), or a grant type
// the server does not support.
func (s *Server) AddClient(c Client) error {
	if err := s.checkClient(&c); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.clients[c.ID]; dup {
		return fmt.Errorf("devserver: client %s is registered twice", c.ID)
	}
	if err := s.persist(func(d *stateDB) error { return d.putClient(&c) }); err != nil {
		return err
	}
	s.clients[c.ID] = &c
	return nil
}

// Client returns the registered client with the given ID.
func (s *Server) Client(id string) (Client, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[id]
	if !ok {
		return Client{}, false
	}
	return *c, true
}

// Clients returns the registered clients, in no particular order.
func (s *Server) Clients() []Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Client, 0, len(s.clients))
	for _, c := range s.clients {
		out = append(out, *c)
	}
	return out
}

// checkClient validates c and fills its default authentication method.
func (s *Server) checkClient(c *Client) error {
	if c.ID == "" {
		return fmt.Errorf("devserver: a client needs an ID")
	}
	if c.AuthMethod == "" {
		switch {
		case !c.Secret.IsZero():
			c.AuthMethod = pixie.ClientSecretBasic
		case len(c.Keys.Keys) > 0:
			c.AuthMethod = pixie.PrivateKeyJWT
		default:
			c.AuthMethod = pixie.AuthNone
		}
	}
	switch c.AuthMethod {
	case pixie.ClientSecretBasic, pixie.ClientSecretPost, pixie.ClientSecretJWT:
		if c.Secret.IsZero() {
			return fmt.Errorf("devserver: client %s uses %s but has no secret", c.ID, c.AuthMethod)
		}
		if c.AuthMethod == pixie.ClientSecretJWT && len(c.Secret.Reveal()) < 32 {
			return fmt.Errorf("devserver: client %s uses client_secret_jwt; its secret must be at least 32 bytes for HS256 (RFC 7518 section 3.2)", c.ID)
		}
	case pixie.PrivateKeyJWT:
		if len(c.Keys.Keys) == 0 {
			return fmt.Errorf("devserver: client %s uses private_key_jwt but has no keys", c.ID)
		}
		for _, k := range c.Keys.Keys {
			if !k.IsPublic() {
				return fmt.Errorf("devserver: client %s: register public keys only", c.ID)
			}
		}
	case pixie.AuthNone:
		if !c.Secret.IsZero() {
			return fmt.Errorf("devserver: client %s is public (auth method none) but has a secret", c.ID)
		}
	default:
		return fmt.Errorf("devserver: client %s: unsupported authentication method %q (supported: %v)", c.ID, c.AuthMethod, authMethods)
	}
	for _, r := range slices.Concat(c.RedirectURIs, c.PostLogoutRedirectURIs) {
		if err := checkRedirectURI(r); err != nil {
			return fmt.Errorf("devserver: client %s: %w", c.ID, err)
		}
	}
	for _, g := range c.GrantTypes {
		if !slices.Contains(s.grantTypes(), g) {
			return fmt.Errorf("devserver: client %s: unsupported grant type %q", c.ID, g)
		}
	}
	return nil
}

// checkRedirectURI checks a redirection endpoint: absolute, without a fragment
// (RFC 6749 section 3.1.2), and not of a scheme whose URIs the browser runs or
// renders instead of sending a request (see RFC 9700 section 4.1).
func checkRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" && u.Opaque == "" && u.Path == "" {
		return fmt.Errorf("redirect URI %s is not an absolute URI", raw)
	}
	if u.Fragment != "" || u.RawFragment != "" {
		return fmt.Errorf("redirect URI %s has a fragment", raw)
	}
	if slices.Contains([]string{"javascript", "data", "vbscript"}, u.Scheme) {
		return fmt.Errorf("redirect URI %s has the %s scheme, which would run in the browser", raw, u.Scheme)
	}
	return nil
}

// public reports whether the client authenticates with nothing but its ID.
func (c *Client) public() bool { return c.AuthMethod == pixie.AuthNone }

// allows reports whether the client may use grant type g.
func (c *Client) allows(g string) bool {
	return len(c.GrantTypes) == 0 || slices.Contains(c.GrantTypes, g)
}

// checkScope refuses scopes the client may not request (RFC 6749 section 3.3).
func (c *Client) checkScope(scope []string) error {
	if len(c.Scopes) == 0 {
		return nil
	}
	for _, sc := range scope {
		if !slices.Contains(c.Scopes, sc) {
			return oauthError(pixie.ErrInvalidScope, "scope %s is not allowed for this client", sc)
		}
	}
	return nil
}

// matchRedirect reports whether the requested redirect URI is registered: an exact
// string match, or for a loopback IP literal with the http scheme, a match of
// everything but the port (RFC 8252 section 7.3). A fragment never matches
// (RFC 6749 section 3.1.2).
func (c *Client) matchRedirect(requested string) bool {
	if slices.Contains(c.RedirectURIs, requested) {
		return true
	}
	ru, err := url.Parse(requested)
	if err != nil || ru.Scheme != "http" || !isLoopbackIP(ru.Hostname()) || strings.Contains(requested, "#") {
		return false
	}
	for _, reg := range c.RedirectURIs {
		gu, err := url.Parse(reg)
		if err != nil || gu.Scheme != "http" || gu.Hostname() != ru.Hostname() {
			continue
		}
		if gu.EscapedPath() == ru.EscapedPath() && gu.RawQuery == ru.RawQuery && gu.User == nil && ru.User == nil {
			return true
		}
	}
	return false
}

func isLoopbackIP(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
