package devserver_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
	"golang.org/x/oauth2/clientcredentials"
)

// A devserver on a loopback listener, issuing a client-credentials token to a
// standard client, and counting the requests.
func Example() {
	ts := httptest.NewUnstartedServer(nil)
	srv, err := devserver.New(devserver.Options{
		Issuer:  "http://" + ts.Listener.Addr().String(),
		Clients: []devserver.Client{{ID: "svc", Secret: pixie.NewSecret("svc-secret")}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ts.Config.Handler = srv
	ts.Start()
	defer ts.Close()

	conf := clientcredentials.Config{ClientID: "svc", ClientSecret: "svc-secret", TokenURL: srv.Issuer() + "/token"}
	tok, err := conf.Token(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tok.TokenType, srv.Count(devserver.Match{Endpoint: "token", ClientID: "svc", Status: 200}))
	// Output: Bearer 1
}

func ExampleParseClientSpec() {
	c, err := devserver.ParseClientSpec("web:web-secret:http://127.0.0.1:8080/callback,http://127.0.0.1:8080/other")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.ID, c.AuthMethod, c.RedirectURIs, c.Secret)
	// Output: web client_secret_basic [http://127.0.0.1:8080/callback http://127.0.0.1:8080/other] [redacted]
}

func ExampleServer_SetFaults() {
	srv, err := devserver.New(devserver.Options{Issuer: "http://127.0.0.1:9000"})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The next two token requests are answered 429 with Retry-After: 2.
	if err := srv.SetFaults(devserver.Faults{RateLimit: 2, RetryAfter: 2 * time.Second}); err != nil {
		fmt.Println(err)
		return
	}
	b, _ := srv.Faults().MarshalJSON()
	os.Stdout.Write(append(b, '\n'))
	// Output: {"rate_limit":2,"retry_after":"2s"}
}
