package pixie_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver/devservertest"
)

// publishDocument serves doc(clientID) at /client.json of a loopback server
// and returns the client ID, the URL.
func publishDocument(t *testing.T, doc func(clientID string) []byte) string {
	t.Helper()
	var id string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/client.json" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc(id))
	}))
	t.Cleanup(srv.Close)
	id = srv.URL + "/client.json"
	return id
}

// TestClientIDMetadataDocument publishes the document ClientIDMetadataDocument
// renders, and logs in to the devserver's API with its URL as the client ID,
// without registration; then checks that the devserver refuses documents that
// do not match their URL or the redirect URI.
func TestClientIDMetadataDocument(t *testing.T) {
	dev := devservertest.NewServer(t, withResources)
	ctx := context.Background()
	render := func(id string) []byte {
		cfg := &pixie.Config{ClientID: id, RedirectURL: pixie.DefaultRedirectURL}
		b, err := cfg.ClientIDMetadataDocument(pixie.ClientMetadata{ClientName: "doc client"})
		if err != nil {
			t.Error(err)
		}
		return b
	}
	id := publishDocument(t, render)
	var doc map[string]any
	if err := json.Unmarshal(render(id), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["client_id"] != id || doc["token_endpoint_auth_method"] != "none" || doc["client_name"] != "doc client" {
		t.Errorf("document = %v", doc)
	}

	l := &loginRecorder{dev: dev}
	r, err := pixie.ForResource(ctx, dev.URL+"/api", pixie.ResourceOptions{ClientID: id, Login: l.login})
	if err != nil {
		t.Fatal(err)
	}
	if r.Client != pixie.ClientMetadataDocument || r.Config.ClientID != id {
		t.Fatalf("client = %s %q, want the metadata document", r.Client, r.Config.ClientID)
	}
	status, body := getJSON(t, r.HTTPClient(), dev.URL+"/api")
	if status != http.StatusOK || body["client_id"] != id {
		t.Fatalf("GET /api: HTTP %d %v", status, body)
	}
	if n := len(dev.Clients()); n != 6 {
		t.Errorf("%d clients on the server, want the 5 ready-made ones and the document's", n)
	}

	for _, tc := range []struct {
		name string
		doc  func(id string) []byte
	}{
		{"client_id is another URL", func(string) []byte {
			return []byte(`{"client_id":"https://elsewhere.example/client.json","redirect_uris":["http://127.0.0.1/callback"]}`)
		}},
		{"other redirect URI", func(id string) []byte {
			return []byte(`{"client_id":"` + id + `","redirect_uris":["http://127.0.0.1/elsewhere"]}`)
		}},
		{"with a secret", func(id string) []byte {
			return []byte(`{"client_id":"` + id + `","redirect_uris":["http://127.0.0.1/callback"],"client_secret":"x"}`)
		}},
		{"too large", func(id string) []byte {
			// A valid document, then more than 5 KiB of white space.
			return []byte(`{"client_id":"` + id + `","redirect_uris":["http://127.0.0.1/callback"]}` + strings.Repeat(" ", 6<<10))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := publishDocument(t, tc.doc)
			cfg := &pixie.Config{ClientID: bad, RedirectURL: pixie.DefaultRedirectURL, Endpoint: dev.Endpoint()}
			ar, err := cfg.NewAuthRequest(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if cb, err := dev.Browser().Authorize(ctx, ar.URL); err == nil {
				t.Errorf("authorized: %v", cb)
			}
		})
	}

	t.Run("render refuses", func(t *testing.T) {
		for _, cfg := range []*pixie.Config{
			{ClientID: "plain-id", RedirectURL: pixie.DefaultRedirectURL},
			{ClientID: "https://app.example/", RedirectURL: pixie.DefaultRedirectURL},
			{ClientID: "https://app.example/client.json"},
		} {
			if _, err := cfg.ClientIDMetadataDocument(pixie.ClientMetadata{}); err == nil {
				t.Errorf("%q: rendered", cfg.ClientID)
			}
		}
		cfg := &pixie.Config{ClientID: "https://app.example/client.json", RedirectURL: pixie.DefaultRedirectURL}
		if _, err := cfg.ClientIDMetadataDocument(pixie.ClientMetadata{TokenEndpointAuthMethod: pixie.ClientSecretBasic}); err == nil {
			t.Error("rendered a document for a shared secret")
		}
	})
}
