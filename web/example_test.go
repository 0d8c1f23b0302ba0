package web_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver/devservertest"
	"github.com/pixieauth/pixie/internal/seal"
	"github.com/pixieauth/pixie/web"
	"github.com/pixieauth/pixie/web/sqlitesession"
)

// ExampleNew mounts sign-in on a plain http.ServeMux, with sessions in
// SQLite and a devserver as the OpenID provider.
func ExampleNew() {
	dev, err := devservertest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer dev.Close()
	dir, _ := os.MkdirTemp("", "pixie-web-example")
	defer os.RemoveAll(dir)
	key, _ := seal.GenerateKey() // or set PIXIE_STORE_KEY, or let Open make a key file
	store, err := sqlitesession.Open(filepath.Join(dir, "sessions.db"), sqlitesession.WithKeys(key.Reveal()))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	auth, err := web.New(context.Background(),
		web.BaseURL("http://127.0.0.1:8080"),
		web.Store(store),
		web.WithProvider(web.Provider{Name: "dev", Config: pixie.Config{
			ClientID:     dev.Confidential.ID,
			ClientSecret: dev.Confidential.Secret,
			Endpoint:     pixie.Endpoint{Issuer: dev.URL}, // discovered
		}}),
	)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /login", auth.Login())
	mux.Handle("GET /callback", auth.Callback())
	mux.Handle("POST /logout", auth.Logout())
	mux.Handle("GET /{$}", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := web.UserFrom(r.Context())
		fmt.Fprintf(w, "Hello, %s", u.Name)
	})))
	fmt.Println(auth.Providers(), auth.LoginURL("dev", "/reports?q=1"))
	// Output: [dev] /login?provider=dev&return_to=%2Freports%3Fq%3D1
}
