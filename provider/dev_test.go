package provider_test

import (
	"testing"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver/devservertest"
	"github.com/pixieauth/pixie/provider"
)

// TestDevMatchesDevserver checks the Dev preset against the metadata a running
// devserver publishes, so that the two cannot drift apart.
func TestDevMatchesDevserver(t *testing.T) {
	srv := devservertest.NewServer(t)
	md, err := pixie.Discover(t.Context(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	want := md.Endpoint()
	for _, issuer := range []string{srv.URL, srv.URL + "/"} {
		got, err := provider.Dev(issuer)
		if err != nil {
			t.Fatal(err)
		}
		gotURLs, wantURLs := endpointURLs(got), endpointURLs(want)
		for field, w := range wantURLs {
			if g := gotURLs[field]; g != w {
				t.Errorf("Dev(%q).%s = %q, devserver publishes %q", issuer, field, g, w)
			}
		}
		if got.IssParameterSupported != want.IssParameterSupported {
			t.Errorf("IssParameterSupported = %t, devserver publishes %t", got.IssParameterSupported, want.IssParameterSupported)
		}
	}
}
