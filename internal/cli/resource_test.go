package cli_test

import (
	"net/url"
	"testing"

	"github.com/pixieauth/pixie/internal/cli"
)

func TestHostProfileName(t *testing.T) {
	for host, want := range map[string]string{
		"api.example.com":      "api.example.com",
		"API.Example.com":      "api.example.com",
		"127.0.0.1:9000":       "127.0.0.1-9000",
		"[::1]:8080":           "1-8080",
		"[fe80::1%25eth0]:443": "fe80-1-25eth0-443",
		"mcp_srv.example:8443": "mcp_srv.example-8443",
		"":                     "",
	} {
		if got := cli.HostProfileName(host); got != want {
			t.Errorf("HostProfileName(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestResourceProfileName(t *testing.T) {
	profiles := map[string]string{
		"api.example.com":   "https://api.example.com/v1",
		"api.example.com-2": "https://api.example.com/v2",
		"work":              "https://mcp.example.com/mcp",
		"127.0.0.1-9000":    "",
	}
	for resource, want := range map[string]string{
		// The profile already for the resource, whatever its name.
		"https://mcp.example.com/mcp": "work",
		"https://api.example.com/v1":  "api.example.com",
		// The host's name, with a number when it is taken.
		"https://api.example.com/v3":  "api.example.com-3",
		"https://new.example.com/api": "new.example.com",
		// A profile that is not a resource's is not taken over.
		"http://127.0.0.1:9000/api": "127.0.0.1-9000-2",
	} {
		if got := cli.ResourceProfileName(profiles, resource); got != want {
			t.Errorf("ResourceProfileName(%q) = %q, want %q", resource, got, want)
		}
	}
}

func TestResourceProfileFor(t *testing.T) {
	profiles := map[string]string{
		"api":    "https://api.example.com/v1",
		"admin":  "https://api.example.com/v1/admin",
		"root":   "https://root.example.com/",
		"port":   "https://port.example.com:443/x",
		"query":  "https://q.example.com/r?tenant=a",
		"plain":  "",
		"local":  "http://127.0.0.1:9000/api",
		"secure": "https://127.0.0.1:9001/api",
	}
	for raw, want := range map[string]string{
		"https://api.example.com/v1":             "api",
		"https://api.example.com/v1/":            "api",
		"https://api.example.com/v1/items?id=3":  "api",
		"https://API.example.com/v1/items":       "api",
		"https://api.example.com/v1/admin/users": "admin", // the longest resource
		"https://api.example.com/v10":            "",      // not at a segment boundary
		"https://api.example.com/v2":             "",
		"http://api.example.com/v1":              "", // another scheme
		"https://api.example.com:8443/v1":        "", // another port
		"https://root.example.com/anything":      "root",
		"https://port.example.com/x/y":           "port", // the default port
		"https://q.example.com/r?tenant=a":       "query",
		"https://q.example.com/r?tenant=b":       "",
		"http://127.0.0.1:9000/api/admin":        "local",
		"http://127.0.0.1:9001/api":              "",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := cli.ResourceProfileFor(profiles, u)
		if got != want || ok != (want != "") {
			t.Errorf("ResourceProfileFor(%s) = %q, %v; want %q", raw, got, ok, want)
		}
	}
}

func TestShellWord(t *testing.T) {
	for in, want := range map[string]string{
		"https://api.example.com/v1":       "https://api.example.com/v1",
		"https://api.example.com/v1?a=b&c": `'https://api.example.com/v1?a=b&c'`,
		"https://x.example/it's":           `'https://x.example/it'\''s'`,
		"https://x.example/$(rm -rf ~)":    `'https://x.example/$(rm -rf ~)'`,
		"":                                 "''",
	} {
		if got := cli.ShellWord(in); got != want {
			t.Errorf("ShellWord(%q) = %s, want %s", in, got, want)
		}
	}
}
