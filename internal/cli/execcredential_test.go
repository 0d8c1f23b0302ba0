package cli_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/pixieauth/pixie/internal/testenv"
)

// scriptCondition answers the scripts' conditions: [have:PROGRAM] holds when
// PROGRAM is installed. Under CI=true a missing one fails the script rather
// than letting it skip.
func scriptCondition(cond string) (bool, error) {
	prog, ok := strings.CutPrefix(cond, "have:")
	if !ok {
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	if _, err := exec.LookPath(prog); err != nil {
		if testenv.CI() {
			return false, fmt.Errorf("%s is not installed (CI=true: a missing program is a failure, not a skip; ./scripts/test installs it)", prog)
		}
		return false, nil
	}
	return true, nil
}

// cmdKubeAPI starts a loopback HTTPS stub of a Kubernetes API server for the
// rest of the script and writes a kubeconfig for it: kubeapi KUBECONFIG
// PROFILE [APIVERSION]. The stub answers GET /api to a bearer token that the
// devserver at $ISSUER accepts at its userinfo endpoint, and 401 otherwise.
// The kubeconfig trusts the stub's certificate and gets its user's token from
// pixie token -o exec-credential --profile PROFILE, with the exec API version
// APIVERSION (v1 or v1beta1), by default the newest the installed kubectl
// knows.
func cmdKubeAPI(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: kubeapi KUBECONFIG PROFILE [v1|v1beta1]")
	}
	version := kubectlExecVersion(ts)
	if len(args) == 3 {
		version = args[2]
	}
	issuer := ts.Getenv("ISSUER")
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if authz := r.Header.Get("Authorization"); !strings.HasPrefix(authz, "Bearer ") || !tokenAccepted(r.Context(), issuer, authz) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`)
			return
		}
		if r.URL.Path != "/api" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1"}]}`)
	}))
	ts.Defer(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	interactive := ""
	if version == "v1" {
		// Required in v1; kubectl 1.20 (v1beta1) does not know the field.
		interactive = "      interactiveMode: IfAvailable\n"
	}
	config := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: stub
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: pixie
  user:
    exec:
      apiVersion: client.authentication.k8s.io/%s
      command: pixie
      args: [token, -o, exec-credential, --profile, %s]
%scontexts:
- name: stub
  context: {cluster: stub, user: pixie}
current-context: stub
`, srv.URL, base64.StdEncoding.EncodeToString(ca), version, args[1], interactive)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(config), 0o600))
}

// kubectlExecVersion returns the newest exec credential API version the
// installed kubectl knows: v1 from Kubernetes 1.22, v1beta1 before (Debian's
// kubernetes-client is 1.20).
func kubectlExecVersion(ts *testscript.TestScript) string {
	out, err := exec.Command("kubectl", "version", "--client", "-o", "json").Output()
	if err != nil {
		ts.Fatalf("kubectl version: %v", err)
	}
	var v struct {
		ClientVersion struct {
			Major, Minor string
		} `json:"clientVersion"`
	}
	ts.Check(json.Unmarshal(out, &v))
	minor, err := strconv.Atoi(regexp.MustCompile(`^\d+`).FindString(v.ClientVersion.Minor))
	if err != nil || v.ClientVersion.Major != "1" {
		ts.Fatalf("kubectl version: cannot read %s.%s", v.ClientVersion.Major, v.ClientVersion.Minor)
	}
	if minor >= 22 {
		return "v1"
	}
	return "v1beta1"
}

// cmdExecCredential checks that stdout holds exactly one ExecCredential in
// API version APIVERSION, with no field kubectl does not know, a token and an
// RFC 3339 expiry in the future: execcredential APIVERSION.
func cmdExecCredential(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: execcredential APIVERSION")
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(ts.ReadFile("stdout"))))
	dec.DisallowUnknownFields()
	var c struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
		Spec       struct {
			Interactive bool `json:"interactive"`
		} `json:"spec"`
		Status struct {
			ExpirationTimestamp string `json:"expirationTimestamp"`
			Token               string `json:"token"`
		} `json:"status"`
	}
	ts.Check(dec.Decode(&c))
	if dec.More() {
		ts.Fatalf("more than one JSON value on stdout")
	}
	if c.Kind != "ExecCredential" || c.APIVersion != args[0] {
		ts.Fatalf("kind %q apiVersion %q, want ExecCredential %s", c.Kind, c.APIVersion, args[0])
	}
	if c.Status.Token == "" {
		ts.Fatalf("no status.token")
	}
	exp, err := time.Parse(time.RFC3339, c.Status.ExpirationTimestamp)
	if err != nil || !exp.After(time.Now()) {
		ts.Fatalf("status.expirationTimestamp %q: want an RFC 3339 time in the future", c.Status.ExpirationTimestamp)
	}
}
