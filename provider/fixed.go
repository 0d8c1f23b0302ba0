package provider

import (
	"net/http"

	"github.com/pixieauth/pixie"
)

// GitHub returns the endpoints of GitHub OAuth apps and GitHub Apps acting for a
// user, including the device authorization endpoint (RFC 8628).
//
// Quirks: GitHub's token endpoint answers in form encoding unless the request
// asks for JSON, so the preset sends Accept: application/json (pixie sends it
// anyway; the header makes the dependency explicit). GitHub documents the client
// credentials only as body parameters, so the preset uses client_secret_post.
//
// GitHub is not an OpenID provider, so Issuer, UserinfoURL and JWKSURL are empty,
// and it revokes tokens through its REST API rather than an RFC 7009 endpoint, so
// RevocationURL is empty too. Its token responses list the granted scopes
// separated by commas.
func GitHub() pixie.Endpoint {
	return pixie.Endpoint{
		AuthURL:       "https://github.com/login/oauth/authorize",
		TokenURL:      "https://github.com/login/oauth/access_token",
		DeviceAuthURL: "https://github.com/login/device/code",
		AuthMethods:   []pixie.AuthMethod{pixie.ClientSecretPost},
		Quirks: pixie.Quirks{
			Header: http.Header{"Accept": {"application/json"}},
		},
	}
}

// Google returns the endpoints of Google's OpenID provider (issuer
// https://accounts.google.com), including device authorization (RFC 8628) and
// revocation (RFC 7009).
//
// Quirks: Google issues a refresh token only when the authorization request
// carries access_type=offline, and only at the first consent of a user to a
// client; the preset adds access_type=offline and prompt=consent to every
// authorization URL so that each login yields a refresh token. A request option
// such as pixie.Prompt("select_account") replaces the prompt for one request;
// deleting "prompt" from Quirks.AuthParams skips the consent screen for
// returning users when a stored refresh token is enough.
func Google() pixie.Endpoint {
	return pixie.Endpoint{
		Issuer:        "https://accounts.google.com",
		AuthURL:       "https://accounts.google.com/o/oauth2/v2/auth",
		TokenURL:      "https://oauth2.googleapis.com/token",
		DeviceAuthURL: "https://oauth2.googleapis.com/device/code",
		RevocationURL: "https://oauth2.googleapis.com/revoke",
		UserinfoURL:   "https://openidconnect.googleapis.com/v1/userinfo",
		JWKSURL:       "https://www.googleapis.com/oauth2/v3/certs",
		Quirks: pixie.Quirks{
			AuthParams: map[string]string{"access_type": "offline", "prompt": "consent"},
		},
	}
}

// Slack returns the endpoints of Slack's OAuth v2 flow, set up for user tokens.
//
// Quirks: Slack's v2 authorization endpoint takes scopes separated by commas.
// Its oauth.v2.access response carries a bot token at the top level and the user
// token in the "authed_user" member, so the preset names that member in
// NestedTokenField (a response without a user token there is read at the top
// level). Slack takes user scopes in the user_scope authorization parameter and
// bot scopes in scope; to obtain a user token, send the user scopes, joined with
// commas, with pixie.Param("user_scope", ...). Slack revokes tokens through its auth.revoke Web API
// method rather than an RFC 7009 endpoint, so RevocationURL is empty.
func Slack() pixie.Endpoint {
	return pixie.Endpoint{
		AuthURL:  "https://slack.com/oauth/v2/authorize",
		TokenURL: "https://slack.com/api/oauth.v2.access",
		Quirks: pixie.Quirks{
			ScopeSeparator:   ",",
			NestedTokenField: "authed_user",
		},
	}
}

// Bitbucket returns the endpoints of Bitbucket Cloud. It has no quirks pixie
// needs to adapt to; its scopes are those granted to the OAuth consumer.
func Bitbucket() pixie.Endpoint {
	return pixie.Endpoint{
		AuthURL:  "https://bitbucket.org/site/oauth2/authorize",
		TokenURL: "https://bitbucket.org/site/oauth2/access_token",
	}
}

// Discord returns the endpoints of Discord, including token revocation (RFC
// 7009). Discord's published authorization server metadata (RFC 8414) names the
// issuer https://discord.com and declares that its authorization responses carry
// the RFC 9207 iss parameter, so the preset sets IssParameterSupported.
func Discord() pixie.Endpoint {
	return pixie.Endpoint{
		Issuer:                "https://discord.com",
		AuthURL:               "https://discord.com/oauth2/authorize",
		TokenURL:              "https://discord.com/api/oauth2/token",
		RevocationURL:         "https://discord.com/api/oauth2/token/revoke",
		UserinfoURL:           "https://discord.com/api/oauth2/userinfo",
		JWKSURL:               "https://discord.com/api/oauth2/keys",
		IssParameterSupported: true,
	}
}

// Dropbox returns the endpoints of the Dropbox API.
//
// Quirks: Dropbox issues short-lived access tokens and returns a refresh token
// only when the authorization request asks for token_access_type=offline, which
// the preset adds to every authorization URL. Dropbox revokes tokens through an
// API call authenticated with the token itself, not an RFC 7009 endpoint, so
// RevocationURL is empty.
func Dropbox() pixie.Endpoint {
	return pixie.Endpoint{
		AuthURL:  "https://www.dropbox.com/oauth2/authorize",
		TokenURL: "https://api.dropboxapi.com/oauth2/token",
		Quirks: pixie.Quirks{
			AuthParams: map[string]string{"token_access_type": "offline"},
		},
	}
}

// Spotify returns the endpoints of the Spotify Web API accounts service. It has
// no quirks pixie needs to adapt to.
func Spotify() pixie.Endpoint {
	return pixie.Endpoint{
		AuthURL:  "https://accounts.spotify.com/authorize",
		TokenURL: "https://accounts.spotify.com/api/token",
	}
}

// redditUserAgent identifies pixie to Reddit until the application sets its own.
const redditUserAgent = "pixie (+https://github.com/pixieauth/pixie)"

// Reddit returns the endpoints of Reddit's OAuth API, including token revocation.
//
// Quirks: Reddit authenticates clients only with HTTP Basic, so the preset
// restricts AuthMethods to client_secret_basic. Reddit issues a refresh token only
// when the authorization request asks for duration=permanent, which the preset
// adds. Reddit throttles or refuses requests without a descriptive User-Agent;
// the preset sends one naming pixie, and an application should replace it with
// its own, in the form Reddit documents
// ("<platform>:<app ID>:<version> (by /u/<username>)"):
//
//	e := provider.Reddit()
//	e.Quirks.Header.Set("User-Agent", "linux:com.example.bot:v1.2 (by /u/example)")
func Reddit() pixie.Endpoint {
	return pixie.Endpoint{
		AuthURL:       "https://www.reddit.com/api/v1/authorize",
		TokenURL:      "https://www.reddit.com/api/v1/access_token",
		RevocationURL: "https://www.reddit.com/api/v1/revoke_token",
		AuthMethods:   []pixie.AuthMethod{pixie.ClientSecretBasic},
		Quirks: pixie.Quirks{
			AuthParams: map[string]string{"duration": "permanent"},
			Header:     http.Header{"User-Agent": {redditUserAgent}},
		},
	}
}

// LinkedIn returns the endpoints of LinkedIn's OAuth 2.0 and OpenID Connect
// service (issuer https://www.linkedin.com/oauth), including its token
// introspection endpoint.
//
// Quirks: LinkedIn takes the client credentials as body parameters, at the token
// endpoint and at introspection alike, so the preset uses client_secret_post.
func LinkedIn() pixie.Endpoint {
	return pixie.Endpoint{
		Issuer:           "https://www.linkedin.com/oauth",
		AuthURL:          "https://www.linkedin.com/oauth/v2/authorization",
		TokenURL:         "https://www.linkedin.com/oauth/v2/accessToken",
		IntrospectionURL: "https://www.linkedin.com/oauth/v2/introspectToken",
		UserinfoURL:      "https://api.linkedin.com/v2/userinfo",
		JWKSURL:          "https://www.linkedin.com/oauth/openid/jwks",
		AuthMethods:      []pixie.AuthMethod{pixie.ClientSecretPost},
	}
}
