package devserver

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/pixieauth/pixie"
)

// WriteBanner writes the startup banner of `pixie serve`: the issuer and its
// endpoints, the registered clients and users (never their secrets), the faults
// injected, and example commands. It says plainly that this is a development
// server, not for production.
func (s *Server) WriteBanner(w io.Writer) error {
	clients := s.Clients()
	slices.SortFunc(clients, func(a, b Client) int { return cmp.Compare(a.ID, b.ID) })
	var b strings.Builder
	b.WriteString("pixie development server: for development and tests, not for production\n\n")
	fmt.Fprintf(&b, "Issuer:    %s\n", s.issuer)
	fmt.Fprintf(&b, "Discovery: %s\n", s.url(pathOIDCMetadata))
	fmt.Fprintf(&b, "Metrics:   %s\n", s.url(pathMetrics))
	fmt.Fprintf(&b, "Tokens:    %s access tokens\n", s.opts.AccessTokenFormat)

	b.WriteString("\nClients:\n")
	tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', 0)
	for _, c := range clients {
		kind := "public (none)"
		if c.AuthMethod != pixie.AuthNone {
			kind = "confidential (" + string(c.AuthMethod) + ")"
		}
		grants := "all grants"
		if len(c.GrantTypes) > 0 {
			short := make([]string, len(c.GrantTypes))
			for i, g := range c.GrantTypes {
				short[i] = strings.TrimPrefix(g, "urn:ietf:params:oauth:grant-type:")
			}
			grants = strings.Join(short, ",")
		}
		redirect := ""
		if len(c.RedirectURIs) > 0 {
			redirect = "redirect " + strings.Join(c.RedirectURIs, ", ")
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", c.ID, kind, grants, redirect)
	}
	tw.Flush()

	b.WriteString("\nUsers:\n")
	for _, u := range s.opts.Users {
		fmt.Fprintf(&b, "  %s\n", u.Username)
	}
	if u := s.opts.Users; len(u) == 1 && u[0].Username == "dev" && u[0].Password.Reveal() == "dev" {
		b.WriteString("  (the default user; password dev)\n")
	}
	if s.opts.AutoApprove {
		fmt.Fprintf(&b, "  (auto-approve: every authorization is granted to %s without a page)\n", s.opts.Users[0].Username)
	}

	if j, _ := s.Faults().MarshalJSON(); string(j) != "{}" {
		fmt.Fprintf(&b, "\nFaults injected: %s (change them with PUT %s)\n", j, s.url("/admin/faults"))
	}

	b.WriteString("\nTry:\n")
	if i := slices.IndexFunc(clients, func(c Client) bool {
		return c.AuthMethod == pixie.AuthNone && c.allows(grantAuthorizationCode) && len(c.RedirectURIs) > 0
	}); i >= 0 {
		fmt.Fprintf(&b, "  pixie login --issuer %s --client-id %s --scope \"openid offline_access\"\n", s.issuer, clients[i].ID)
	}
	if i := slices.IndexFunc(clients, func(c Client) bool {
		return c.AuthMethod == pixie.AuthNone && c.allows(grantDeviceCode)
	}); i >= 0 {
		fmt.Fprintf(&b, "  pixie login --issuer %s --client-id %s --grant device_code\n", s.issuer, clients[i].ID)
	}
	if i := slices.IndexFunc(clients, func(c Client) bool {
		return (c.AuthMethod == pixie.ClientSecretBasic || c.AuthMethod == pixie.ClientSecretPost) && c.allows(grantClientCredentials)
	}); i >= 0 {
		fmt.Fprintf(&b, "  pixie token --issuer %s --client-id %s --client-secret-env CLIENT_SECRET --grant client_credentials -o json\n", s.issuer, clients[i].ID)
		fmt.Fprintf(&b, "  curl -s -u '%s:<secret>' -d grant_type=client_credentials %s\n", clients[i].ID, s.url(pathToken))
	}
	auth := ""
	if !s.opts.AdminToken.IsZero() {
		auth = "-H 'Authorization: Bearer <admin token>' "
	}
	fmt.Fprintf(&b, "  curl -s %s-X PUT -d '{\"rate_limit\":3}' %s\n", auth, s.url("/admin/faults"))
	_, err := io.WriteString(w, b.String())
	return err
}
