package cli_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// documentedTokenKeys returns the keys of pixie token -o json that docs/cli.md
// lists in its contract table.
func documentedTokenKeys(ts *testscript.TestScript) []string {
	doc, err := os.ReadFile("../../docs/cli.md")
	ts.Check(err)
	_, table, ok := strings.Cut(string(doc), "<!-- token-json-keys")
	table, _, ok2 := strings.Cut(table, "<!-- end token-json-keys")
	if !ok || !ok2 {
		ts.Fatalf("docs/cli.md has no token-json-keys table")
	}
	var keys []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\|").FindAllStringSubmatch(table, -1) {
		keys = append(keys, m[1])
	}
	if len(keys) == 0 {
		ts.Fatalf("docs/cli.md: no keys in the token-json-keys table")
	}
	return keys
}

// cmdTokenJSON checks stdout against the contract of pixie token -o json in
// docs/cli.md: one object with exactly the documented keys (and refresh_token
// with --refresh), each of its type, expires_at RFC 3339 or "" with
// expires_in null exactly when it is "", and each KEY's string value matching
// REGEXP: tokenjson [--refresh] [KEY=REGEXP...].
func cmdTokenJSON(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("usage: tokenjson [--refresh] [KEY=REGEXP...]")
	}
	want := documentedTokenKeys(ts)
	if len(args) > 0 && args[0] == "--refresh" {
		want = append(want, "refresh_token")
		args = args[1:]
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(ts.ReadFile("stdout"))))
	var obj map[string]json.RawMessage
	ts.Check(dec.Decode(&obj))
	if dec.More() {
		ts.Fatalf("more than one JSON value on stdout")
	}
	if got := slices.Sorted(maps.Keys(obj)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		ts.Fatalf("keys %v, want exactly the documented %v", got, want)
	}
	values := map[string]string{}
	for _, k := range want {
		if k == "expires_in" {
			continue
		}
		var s string
		if err := json.Unmarshal(obj[k], &s); err != nil {
			ts.Fatalf("%s: %s is not a string", k, obj[k])
		}
		values[k] = s
	}
	if values["access_token"] == "" || values["token_type"] == "" {
		ts.Fatalf("empty access_token or token_type")
	}
	var in *int64
	if err := json.Unmarshal(obj["expires_in"], &in); err != nil {
		ts.Fatalf("expires_in: %s is neither a whole number nor null", obj["expires_in"])
	}
	if at := values["expires_at"]; at == "" {
		if in != nil {
			ts.Fatalf("expires_in %d without expires_at", *in)
		}
	} else if _, err := time.Parse(time.RFC3339, at); err != nil || !strings.HasSuffix(at, "Z") || in == nil {
		ts.Fatalf("expires_at %q: want RFC 3339 in UTC, with expires_in", at)
	}
	for _, kv := range args {
		k, re, ok := strings.Cut(kv, "=")
		v, known := values[k]
		if !ok || !known {
			ts.Fatalf("tokenjson: bad check %q", kv)
		}
		if !regexp.MustCompile(re).MatchString(v) {
			ts.Fatalf("%s %q does not match %s", k, v, re)
		}
	}
}
