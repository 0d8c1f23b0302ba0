package devservertest

import (
	"context"
	"net/url"
	"testing"

	"github.com/pixieauth/pixie/devserver"
)

// Browser returns a Browser logged in as s.User on first use.
func (s *Server) Browser() *devserver.Browser {
	return devserver.NewBrowser(s.HTTP.Client(), s.User.Username, s.User.Password.Reveal())
}

// Authorize plays the browser from authURL, the client's authorization request,
// to the redirect back to the client, and returns that callback URL with its
// code (or error), state and iss. It fails the test on any other outcome.
func (s *Server) Authorize(tb testing.TB, authURL string) *url.URL {
	tb.Helper()
	u, err := s.Browser().Authorize(context.Background(), authURL)
	if err != nil {
		tb.Fatalf("devservertest: %v", err)
	}
	return u
}

// ApproveDevice plays the user on the device verification page: it opens the
// verification URI, logs in as s.User, enters userCode and approves. It fails the
// test if the page does not confirm.
func (s *Server) ApproveDevice(tb testing.TB, userCode string) {
	tb.Helper()
	if err := s.Browser().Device(context.Background(), s.URL+"/device", userCode); err != nil {
		tb.Fatalf("devservertest: %v", err)
	}
}
