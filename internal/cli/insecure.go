package cli

import (
	"net/url"
	"strings"

	"github.com/pixieauth/pixie/internal/wire"
)

// refuseInsecureHTTP refuses u when it is http:// on a host other than
// loopback, unless allow (--allow-insecure-http): the token or secret pixie
// sends there would cross the network unencrypted, readable and replaceable by
// anyone on the path (OAuth 2.1 section 1.5, RFC 8252 section 8.3). what names
// the URL in the message, such as "--issuer".
func refuseInsecureHTTP(what string, u *url.URL, allow bool) error {
	if allow || !strings.EqualFold(u.Scheme, "http") || wire.IsLoopback(u.Hostname()) {
		return nil
	}
	return usagef("%s %q: refusing http:// on a host other than loopback: tokens and secrets sent there would cross the network unencrypted.\nUse https, or give --allow-insecure-http to accept that risk", what, u.Redacted())
}
