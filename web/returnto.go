package web

import (
	"net/url"
	"strings"
)

// maxReturnTo bounds the length of a return_to path.
const maxReturnTo = 2048

// SafeReturnTo returns target if it is a path on this site that a browser
// cannot read as another site's URL, and "" otherwise. It accepts only an
// absolute path ("/account?tab=keys"): no scheme, no host, no "//" or "/\" at
// its start (browsers read both as a host), no backslash anywhere, no control
// characters (browsers drop tabs and newlines, which would join "/" and "/"),
// at most 2048 bytes. Login keeps its return_to only when SafeReturnTo accepts
// it, so it cannot be used to redirect users to another site (an open
// redirect, RFC 9700 section 4.11).
func SafeReturnTo(target string) string {
	if target == "" || len(target) > maxReturnTo || target[0] != '/' {
		return ""
	}
	if len(target) > 1 && (target[1] == '/' || target[1] == '\\') {
		return ""
	}
	for i := range len(target) {
		if c := target[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return ""
		}
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return ""
	}
	return target
}
