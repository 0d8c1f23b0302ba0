package provider_test

import (
	"fmt"
	"log"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/provider"
)

func ExampleGitHub() {
	cfg := pixie.Config{
		ClientID: "Iv1.example",
		Endpoint: provider.GitHub(),
		Scopes:   []string{"repo", "read:org"},
	}
	fmt.Println(cfg.Endpoint.DeviceAuthURL)
	// Output: https://github.com/login/device/code
}

func ExampleMicrosoft() {
	e, err := provider.Microsoft("72f988bf-86f1-41af-91ab-2d7cd011db47")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.Issuer)
	fmt.Println(e.TokenURL)
	// Output:
	// https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0
	// https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token
}

func ExampleLookup() {
	e, err := provider.Lookup("keycloak", provider.Params{
		"base_url": "https://sso.example.com",
		"realm":    "staff",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.Issuer)
	// Output: https://sso.example.com/realms/staff
}

func ExampleParamsOf() {
	params, err := provider.ParamsOf("okta")
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range params {
		fmt.Printf("%s required=%t\n", p.Name, p.Required)
	}
	// Output:
	// domain required=true
	// auth_server required=false
}
