package cli_test

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmdDockerCredential checks that stdout holds exactly the answer docker's
// credential helper client decodes for a get of SERVERURL: the three fields
// and no other, Username "<token>" (docker then sends Secret as an identity
// token), and a Secret the devserver at $ISSUER accepts as an access token:
// dockercredential SERVERURL.
func cmdDockerCredential(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: dockercredential SERVERURL")
	}
	dec := json.NewDecoder(strings.NewReader(ts.ReadFile("stdout")))
	dec.DisallowUnknownFields()
	var c struct{ ServerURL, Username, Secret string }
	ts.Check(dec.Decode(&c))
	if dec.More() {
		ts.Fatalf("more than one JSON value on stdout")
	}
	if c.ServerURL != args[0] || c.Username != "<token>" {
		ts.Fatalf("ServerURL %q Username %q, want %q and <token>", c.ServerURL, c.Username, args[0])
	}
	if !tokenAccepted(context.Background(), ts.Getenv("ISSUER"), "Bearer "+c.Secret) {
		ts.Fatalf("the devserver does not accept the Secret as an access token")
	}
}
