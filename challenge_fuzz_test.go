package pixie_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/pixieauth/pixie"
)

// FuzzChallenges feeds arbitrary WWW-Authenticate field values to
// [pixie.Challenges] (RFC 9110 section 11.6.1, RFC 6750 section 3, RFC 9449
// section 7.1). It must never panic or loop; every challenge it returns is a
// Bearer or DPoP one; writing the challenges back as a field value and reading
// them again gives the same challenges; and a well-formed field after the fuzzed
// one is read exactly, so garbage in one field never bleeds into the next.
func FuzzChallenges(f *testing.F) {
	for _, seed := range []string{
		`Bearer`,
		`Bearer realm="api", error="invalid_token", error_description="the token expired"`,
		`Basic realm="x", Bearer realm="api", error="insufficient_scope", scope="a b", resource_metadata="https://r.example/.well-known/oauth-protected-resource"`,
		`DPoP algs="ES256 PS256", error="use_dpop_nonce", error_description="send a nonce", Bearer`,
		`Bearer realm="a \"quoted\" \\ realm", scope=openid`,
		`Bearer abc123==, DPoP error=invalid_token`,
		`Bearer realm="unterminated`,
		`, ,, Bearer ,realm=x,`,
		`Negotiate YIIB, bearer REALM="r", Scope="x  y"`,
		`Bearer error=, =value, "quoted", realm="\`,
		"Bearer\trealm=\"tab\",\terror=\"invalid_request\"",
	} {
		f.Add(seed, "api", "insufficient_scope", "read write")
	}
	f.Fuzz(func(t *testing.T, field, realm, code, scope string) {
		got := pixie.Challenges(header(field))
		for _, c := range got {
			if c.Scheme != "Bearer" && c.Scheme != "DPoP" {
				t.Fatalf("challenge with scheme %q from %q", c.Scheme, field)
			}
		}
		again := pixie.Challenges(header(formatChallenges(got)))
		if !sameChallenges(again, got) {
			t.Fatalf("%q read as\n%+v\nwritten back as %q and read as\n%+v", field, got, formatChallenges(got), again)
		}

		want := pixie.Challenge{Scheme: "Bearer", Realm: realm, Error: code, Scope: strings.Fields(scope)}
		both := pixie.Challenges(header(field, formatChallenges([]pixie.Challenge{want})))
		if len(both) != len(got)+1 || !sameChallenges(both[len(got):], []pixie.Challenge{want}) {
			t.Fatalf("fields %q and %q read as\n%+v\nwant %+v after %d challenges", field, formatChallenges([]pixie.Challenge{want}), both, want, len(got))
		}
	})
}

// header returns a header with one WWW-Authenticate field per value.
func header(values ...string) http.Header {
	h := http.Header{}
	for _, v := range values {
		h.Add("WWW-Authenticate", v)
	}
	return h
}

// formatChallenges writes cs as one WWW-Authenticate field value, every
// parameter a quoted string (RFC 9110 section 5.6.4).
func formatChallenges(cs []pixie.Challenge) string {
	quote := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	var b strings.Builder
	for i, c := range cs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.Scheme)
		sep := " "
		for _, p := range [][2]string{
			{"realm", c.Realm}, {"error", c.Error}, {"error_description", c.ErrorDescription},
			{"scope", strings.Join(c.Scope, " ")}, {"resource_metadata", c.ResourceMetadata},
		} {
			if p[1] != "" {
				fmt.Fprintf(&b, `%s%s="%s"`, sep, p[0], quote.Replace(p[1]))
				sep = ", "
			}
		}
	}
	return b.String()
}

// sameChallenges compares challenges, an empty scope list equal to none.
func sameChallenges(a, b []pixie.Challenge) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Scheme != y.Scheme || x.Realm != y.Realm || x.Error != y.Error || x.ErrorDescription != y.ErrorDescription ||
			x.ResourceMetadata != y.ResourceMetadata || strings.Join(x.Scope, " ") != strings.Join(y.Scope, " ") {
			return false
		}
	}
	return true
}
