package devserver_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pixieauth/pixie/devserver/devservertest"
)

// FuzzTokenEndpoint sends arbitrary form bodies and headers to the token
// endpoint: every answer must be a JSON success or an RFC 6749 section 5.2
// error, never a panic or a server_error.
func FuzzTokenEndpoint(f *testing.F) {
	srv := devservertest.NewServer(f)
	for _, seed := range []struct{ body, authz, dpop string }{
		{"grant_type=client_credentials", "Basic Y29uZmlkZW50aWFsOmNvbmZpZGVudGlhbC1zZWNyZXQ=", ""},
		{"grant_type=authorization_code&code=x&code_verifier=y&client_id=public", "", ""},
		{"grant_type=refresh_token&refresh_token=x&client_id=public", "", "a.b.c"},
		{"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=x&client_id=device", "", ""},
		{"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=e30.e30.", "Basic Og==", ""},
		{"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=a&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt&client_id=public", "", ""},
		{"client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=%25&grant_type=x", "", ""},
		{"%zz=1&grant_type=client_credentials", "Basic %%%", ""},
	} {
		f.Add(seed.body, seed.authz, seed.dpop)
	}
	f.Fuzz(func(t *testing.T, body, authz, dpop string) {
		req := httptest.NewRequest(http.MethodPost, srv.URL+"/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		if dpop != "" {
			req.Header.Set("DPoP", dpop)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		var resp map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("HTTP %d with a body that is not JSON: %q", rec.Code, rec.Body)
		}
		if rec.Code == http.StatusOK {
			return
		}
		if code, _ := resp["error"].(string); code == "" || code == "server_error" || rec.Code >= 500 {
			t.Fatalf("HTTP %d %s", rec.Code, rec.Body)
		}
	})
}
