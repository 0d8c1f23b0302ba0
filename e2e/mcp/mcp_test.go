// Package mcp_test proves pixie against the official MCP Go SDK as a protected
// resource: an MCP server over streamable HTTP behind the SDK's bearer-token
// middleware and its RFC 9728 metadata handler, with tokens verified by the
// devserver's introspection endpoint, reached by the SDK's client through
// pixie's *http.Client from the server's URL alone.
package mcp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
	"github.com/pixieauth/pixie/internal/fakeclock"
)

const tokenTTL = 10 * time.Minute

// mcpServer starts an MCP server with one tool, "echo", at /mcp, behind the
// SDK's RequireBearerToken, which takes tokens the devserver says are active
// and minted for this server's URL (RFC 8707). It returns the server's URL.
func mcpServer(t *testing.T, dev *devservertest.Server) string {
	t.Helper()
	srv := mcp.NewServer(&mcp.Implementation{Name: "pixie-e2e", Version: "1"}, nil)
	type echoIn struct {
		Text string `json:"text"`
	}
	mcp.AddTool(srv, &mcp.Tool{Name: "echo", Description: "returns its text"},
		func(ctx context.Context, req *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "echo: " + in.Text}}}, nil, nil
		})

	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	resource, metadataURL := base+"/mcp", base+"/.well-known/oauth-protected-resource/mcp"
	introspector := dev.Config(dev.Confidential)
	verify := func(ctx context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
		info, err := introspector.Introspect(ctx, pixie.NewSecret(token), "access_token")
		if err != nil {
			return nil, err
		}
		if !info.Active || !slices.Contains(info.Audience, resource) {
			return nil, fmt.Errorf("%w: inactive, or minted for another resource", auth.ErrInvalidToken)
		}
		return &auth.TokenInfo{Scopes: info.Scope, Expiration: info.Expiry, UserID: info.Subject}, nil
	}
	mux := http.NewServeMux()
	mux.Handle("/.well-known/oauth-protected-resource/mcp", auth.ProtectedResourceMetadataHandler(&oauthex.ProtectedResourceMetadata{
		Resource:             resource,
		AuthorizationServers: []string{dev.URL},
		ScopesSupported:      []string{"mcp"},
	}))
	handler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
	mux.Handle("/mcp", auth.RequireBearerToken(verify, &auth.RequireBearerTokenOptions{
		ResourceMetadataURL: metadataURL,
		Scopes:              []string{"mcp"},
	})(handler))
	ts.Config.Handler = mux
	ts.Start()
	t.Cleanup(ts.Close)
	return resource
}

// browserLogin plays the user on the devserver's pages and counts the logins.
func browserLogin(dev *devservertest.Server, count *atomic.Int32) pixie.LoginFunc {
	return func(ctx context.Context, cfg *pixie.Config, opts ...pixie.Option) (*pixie.Token, error) {
		count.Add(1)
		ar, err := cfg.NewAuthRequest(ctx, opts...)
		if err != nil {
			return nil, err
		}
		cb, err := dev.Browser().Authorize(ctx, ar.URL)
		if err != nil {
			return nil, err
		}
		return cfg.HandleCallback(ctx, ar, cb.Query())
	}
}

// TestMCP reaches the MCP server from its URL alone: resource metadata,
// authorization server discovery, dynamic registration, a login on the first
// 401, ListTools and CallTool; after the access token expires, the next call
// succeeds through a refresh without a login; a token for another resource is
// refused.
func TestMCP(t *testing.T) {
	clk := fakeclock.New(time.Now())
	dev := devservertest.NewServer(t, func(o *devserver.Options) {
		o.Now = clk.Now
		o.AccessTokenTTL = tokenTTL
	})
	url := mcpServer(t, dev)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var logins atomic.Int32
	res, err := pixie.ForResource(ctx, url, pixie.ResourceOptions{
		Login: browserLogin(dev, &logins),
		Now:   clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Client != pixie.ClientNewRegistration || res.Server.Issuer != dev.URL || res.Metadata.Resource != url {
		t.Fatalf("ForResource chose %s at %s for %s", res.Client, res.Server.Issuer, res.Metadata.Resource)
	}

	client := mcp.NewClient(&mcp.Implementation{Name: "pixie-e2e-client", Version: "1"}, nil)
	session, err := client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:             url,
		HTTPClient:           res.HTTPClient(),
		DisableStandaloneSSE: true,
		MaxRetries:           -1,
	}, nil)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	defer session.Close()
	if n := logins.Load(); n != 1 {
		t.Fatalf("%d logins to connect, want 1", n)
	}
	tools, err := session.ListTools(ctx, nil)
	if err != nil {
		t.Fatalf("ListTools: %v", err)
	}
	if len(tools.Tools) != 1 || tools.Tools[0].Name != "echo" {
		t.Errorf("tools = %+v", tools.Tools)
	}
	call := func(text string) {
		t.Helper()
		out, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": text}})
		if err != nil {
			t.Fatalf("CallTool: %v", err)
		}
		if len(out.Content) != 1 || out.Content[0].(*mcp.TextContent).Text != "echo: "+text {
			t.Errorf("CallTool = %+v", out.Content)
		}
	}
	call("one")

	first, err := res.Source.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(tokenTTL + time.Minute)
	call("two")
	second, err := res.Source.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if second.AccessToken.Equal(first.AccessToken) || logins.Load() != 1 {
		t.Errorf("after expiry: new token %t, %d logins; want a refresh, not a login", !second.AccessToken.Equal(first.AccessToken), logins.Load())
	}
	if status := statusWith(t, url, first); status != http.StatusUnauthorized {
		t.Errorf("the expired token: HTTP %d, want 401", status)
	}

	t.Run("token for another resource", func(t *testing.T) {
		cfg := dev.Config(dev.Public)
		cfg.Now = clk.Now
		cfg.Resources = []string{dev.URL + "/api"}
		cfg.Scopes = []string{"mcp"}
		ar, err := cfg.NewAuthRequest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		other, err := cfg.HandleCallback(ctx, ar, dev.Authorize(t, ar.URL).Query())
		if err != nil {
			t.Fatal(err)
		}
		if status := statusWith(t, url, other); status != http.StatusUnauthorized {
			t.Errorf("a token minted for %s: HTTP %d, want 401", cfg.Resources[0], status)
		}
		if status := statusWith(t, url, second); status == http.StatusUnauthorized {
			t.Error("the MCP server's own token is refused too: the check proves nothing")
		}
	})
}

// statusWith posts an MCP ping with tok to url and returns the HTTP status.
func statusWith(t *testing.T, url string, tok *pixie.Token) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken.Reveal())
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
