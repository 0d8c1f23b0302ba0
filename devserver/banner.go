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

// WriteBanner writes the startup banner of `pixie serve`: the issuer, the
// registered clients and users (never their secrets), and example commands. It
// says plainly that this is a development server, not for production.
func (s *Server) WriteBanner(w io.Writer) error {
	clients := s.Clients()
	slices.SortFunc(clients, func(a, b Client) int { return cmp.Compare(a.ID, b.ID) })
	var b strings.Builder
	fmt.Fprintf(&b, "pixie devserver: development server, not for production\n\n")
	fmt.Fprintf(&b, "  issuer     %s\n", s.issuer)
	fmt.Fprintf(&b, "  discovery  %s\n", s.url(pathOIDCMetadata))
	fmt.Fprintf(&b, "  metrics    %s\n", s.url(pathMetrics))
	fmt.Fprintf(&b, "  faults     %s\n", s.url("/admin/faults"))
	if s.opts.AutoApprove {
		fmt.Fprintf(&b, "  login      auto-approve: every authorization is granted to %s without a page\n", s.opts.Users[0].Username)
	}
	b.WriteString("\nclients (secrets as configured):\n")
	tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', 0)
	for _, c := range clients {
		grants := "all grants"
		if len(c.GrantTypes) > 0 {
			grants = strings.Join(c.GrantTypes, ",")
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", c.ID, c.AuthMethod, grants, strings.Join(c.RedirectURIs, " "))
	}
	tw.Flush()
	b.WriteString("\nusers: ")
	names := make([]string, len(s.opts.Users))
	for i, u := range s.opts.Users {
		names[i] = u.Username
	}
	b.WriteString(strings.Join(names, ", "))
	if u := s.opts.Users; len(u) == 1 && u[0].Username == "dev" && u[0].Password.Reveal() == "dev" {
		b.WriteString(" (the default user; password dev)")
	}
	b.WriteString("\n\ntry:\n")
	if i := slices.IndexFunc(clients, func(c Client) bool {
		return c.AuthMethod == pixie.ClientSecretBasic && c.allows(grantClientCredentials)
	}); i >= 0 {
		fmt.Fprintf(&b, "  curl -s -u '%s:<secret>' -d grant_type=client_credentials %s\n", clients[i].ID, s.url(pathToken))
	}
	if i := slices.IndexFunc(clients, func(c Client) bool { return c.allows(grantAuthorizationCode) && len(c.RedirectURIs) > 0 }); i >= 0 {
		fmt.Fprintf(&b, "  pixie login --issuer %s --client-id %s\n", s.issuer, clients[i].ID)
	}
	fmt.Fprintf(&b, "  curl -s -X PUT -d '{\"rate_limit\":3}' %s\n", s.url("/admin/faults"))
	_, err := io.WriteString(w, b.String())
	return err
}
