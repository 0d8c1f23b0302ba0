package cli_test

import (
	"context"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmdGitServer starts, for the rest of the script, a loopback smart-HTTP git
// server: git http-backend run as CGI, serving the repositories under DIR, to
// requests whose basic-auth password is an access token the devserver at
// $ISSUER accepts; others get 401 and a Basic challenge, which makes git ask
// its credential helpers. It sets $GITURL to the server's URL and $GITHOST to
// its host:port: gitserver DIR.
func cmdGitServer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: gitserver DIR")
	}
	execPath, err := exec.Command("git", "--exec-path").Output()
	ts.Check(err)
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend"),
		Root: "/",
		Env:  []string{"GIT_PROJECT_ROOT=" + ts.MkAbs(args[0]), "GIT_HTTP_EXPORT_ALL=1"},
	}
	issuer := ts.Getenv("ISSUER")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, password, ok := r.BasicAuth(); !ok || !tokenAccepted(r.Context(), issuer, "Bearer "+password) {
			w.Header().Set("WWW-Authenticate", `Basic realm="pixie test"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	ts.Defer(srv.Close)
	ts.Setenv("GITURL", srv.URL)
	ts.Setenv("GITHOST", strings.TrimPrefix(srv.URL, "http://"))
}

// tokenAccepted reports whether the devserver at issuer answers its userinfo
// endpoint to the Authorization header value authz.
func tokenAccepted(ctx context.Context, issuer, authz string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, issuer+"/userinfo", nil)
	if err != nil {
		return false
	}
	req.Header.Set("Authorization", authz)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
