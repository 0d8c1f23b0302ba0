package cli

import (
	"log/slog"
	"net/http"
	"time"
)

// httpClient returns the client every request of a command goes through: with
// --verbose it logs each exchange.
func (a *app) httpClient() *http.Client {
	c := &http.Client{Timeout: 30 * time.Second}
	if l := a.logger(); l != nil {
		c.Transport = &logTransport{log: l}
	}
	return c
}

// logTransport logs one line per HTTP exchange: method, URL without its query
// (which may carry a code or state), status and duration. Headers and bodies,
// where credentials travel, are never logged.
type logTransport struct {
	base http.RoundTripper
	log  *slog.Logger
}

func (t *logTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	start := time.Now()
	resp, err := base.RoundTrip(req)
	u := *req.URL
	u.RawQuery, u.Fragment, u.User = "", "", nil
	attrs := []any{"method", req.Method, "url", u.String(), "elapsed", time.Since(start).Round(time.Millisecond)}
	if req.Header.Get("Authorization") != "" {
		attrs = append(attrs, "authorization", "[redacted]")
	}
	if err != nil {
		t.log.Debug("http exchange failed", append(attrs, "error", err)...)
		return nil, err
	}
	t.log.Debug("http exchange", append(attrs, "status", resp.StatusCode)...)
	return resp, nil
}
