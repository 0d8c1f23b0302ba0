package redisstore_test

import (
	"log"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/redisstore"
)

// Every replica of a service shares one client credentials token through Redis:
// when it nears expiry, one replica fetches a new one and the others load it.
// The sealing key comes from PIXIE_STORE_KEY, the same on every replica.
func ExampleNew() {
	client := redis.NewClient(&redis.Options{
		Addr:                  "redis.internal:6379",
		ContextTimeoutEnabled: true, // every store call ends with its context
		DialTimeout:           time.Second,
	})
	store, err := redisstore.New(client, redisstore.WithPrefix("billing:"))
	if err != nil {
		log.Fatal(err)
	}
	secret, err := pixie.SecretFromEnv("BILLING_CLIENT_SECRET")
	if err != nil {
		log.Fatal(err)
	}
	cfg := &pixie.Config{
		ClientID:     "billing",
		ClientSecret: secret,
		Endpoint:     pixie.Endpoint{TokenURL: "https://auth.example.com/oauth2/token"},
	}
	src := cfg.ClientCredentialsSource(pixie.SourceOptions{Store: store, Key: "billing-api"})
	resp, err := pixie.NewClient(src).Get("https://api.example.com/invoices")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	log.Println(resp.Status)
}
