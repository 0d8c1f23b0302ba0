package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzLoadConfig feeds arbitrary bytes to pixie's config.yaml loader. It must
// never panic; a file it refuses gets an error that names the file, says it is
// not a valid configuration and speaks of profiles, not pixie's Go types; a file it
// accepts, saved again and reloaded, holds the same profiles.
func FuzzLoadConfig(f *testing.F) {
	for _, seed := range []string{
		"",
		"profiles: {}\n",
		"profiles:\n  default:\n    issuer: https://id.example.com\n    client_id: cli\n    scopes: openid email offline_access\n",
		"profiles:\n  work:\n    provider: google\n    provider_params: {tenant: x}\n    client_id: a\n    client_secret_env: SECRET\n    scopes: [openid, \"email profile\"]\n    resources: [https://api.example.com]\n    params: {prompt: consent}\n    allow_insecure_http: true\n",
		"profiles:\n  d:\n    token_url: http://127.0.0.1:9000/token\n    device_url: http://127.0.0.1:9000/device\n    grant: device\n    auth_method: private_key_jwt\n    private_key: key.pem\n",
		"profiles: [a, b]\n",
		"profiles:\n  x: 3\n",
		"profiles:\n  x:\n    scopes: {a: b}\n",
		"profiles:\n  x:\n    resources: {a: b}\n",
		"profiles:\n  x:\n    allow_insecure_http: maybe\n",
		"profiles:\n  x:\n    issuer: [a]\n",
		"profiles:\n  x:\n    params: [a]\n",
		"profiles:\n  x:\n    dpop: 3\n",
		"hosts: [a]\n",
		"profiles:\n  x:\n    scope: openid\n",
		"a: &a [*a, *a]\n",
		"profiles:\n\t- bad tab\n",
		"---\nprofiles: {}\n---\nprofiles: {y: {}}\n",
		"profiles:\n  \"\\u00e9\\x00\":\n    client_id: \"\\t\"\n",
	} {
		f.Add([]byte(seed))
	}
	home := f.TempDir()
	a := &app{getenv: func(k string) string {
		if k == "PIXIE_HOME" {
			return home
		}
		return ""
	}}
	path := filepath.Join(home, configFile)
	f.Fuzz(func(t *testing.T, content []byte) {
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		c, gotPath, err := a.loadConfig()
		if gotPath != path {
			t.Fatalf("loadConfig path = %q, want %q", gotPath, path)
		}
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, path+" is not a valid pixie configuration: ") {
				t.Fatalf("error does not name the file and the problem: %s", msg)
			}
			for _, goName := range []string{"cli.", "scopeList", "Settings", "fileConfig", "[]", "map[", "into bool", "into string", "!!"} {
				// The error may quote the file, which may hold the name.
				if strings.Contains(msg, goName) && !bytes.Contains(content, []byte(goName)) {
					t.Fatalf("error names the Go type %q: %s", goName, msg)
				}
			}
			return
		}
		if c.Profiles == nil {
			t.Fatal("loadConfig returned no profile map")
		}
		want := marshalConfig(t, c)
		if err := saveConfig(path, c); err != nil {
			t.Fatalf("saveConfig of a loaded configuration: %v", err)
		}
		again, _, err := a.loadConfig()
		if err != nil {
			t.Fatalf("a saved configuration does not load: %v\n%s", err, want)
		}
		if got := marshalConfig(t, again); got != want {
			t.Fatalf("saved and reloaded:\n%s\nwant\n%s", got, want)
		}
	})
}

// marshalConfig returns c as config.yaml holds it.
func marshalConfig(t *testing.T, c *fileConfig) string {
	b, err := yaml.Marshal(c)
	if err != nil {
		t.Fatalf("marshal %+v: %v", c, err)
	}
	return string(b)
}
