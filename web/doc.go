// Package web signs users in to a web app with OAuth 2.0 and OpenID Connect,
// with plain net/http handlers that work with any router, and keeps their
// sessions on the server.
//
//	store, _ := sqlitesession.Open("sessions.db")  // or redissession.New for replicas
//	auth, err := web.New(ctx,
//		web.BaseURL("https://app.example.com"),
//		web.Store(store),
//		web.WithProvider(web.Provider{Name: "google", Config: pixie.Config{
//			ClientID: id, ClientSecret: secret, Endpoint: provider.Google()}}),
//	)
//	mux.Handle("GET /login", auth.Login())
//	mux.Handle("GET /callback", auth.Callback())
//	mux.Handle("POST /logout", auth.Logout())
//	mux.Handle("/account/", auth.Require(account))  // web.UserFrom(r.Context())
//
// # API
//
//   - [New] with [BaseURL], [Store], one [WithProvider] per provider (presets
//     from package provider, or discovery from an issuer), and optionally
//     [Paths], [AfterLogout], [Timeouts], [CacheSize], [Clock], [Logger],
//     [ErrorPage].
//   - [Web.Login] redirects to the provider (state, nonce, PKCE S256 kept on
//     the server; ?provider= and ?return_to=); [Web.Callback] checks the
//     response and starts the session; [Web.Logout] (POST + CSRF token)
//     revokes, deletes the session and follows the provider's
//     end_session_endpoint.
//   - [Web.Require] lets only signed-in users through (redirect to Login for a
//     browser GET, 401 for JSON and other methods); [Web.Optional] only makes
//     the user known. Both check CSRF on unsafe methods.
//   - [UserFrom] gives the [User] (Provider, Subject, Name, Email, Claims);
//     [User.Client] is an *http.Client carrying the user's access token and
//     [User.TokenSource] its source, refreshed through the session.
//   - [CSRFToken] and [CSRFField] put the session's CSRF token in forms.
//   - [Web.SignOutEverywhere] ends every session of a user.
//   - [SessionStore] is what a session backend implements: web/sqlitesession
//     and web/redissession, both checked by web/sessiontest.
//
// # Sessions
//
// The browser holds only a random 256-bit session id, in a cookie that is
// HttpOnly, SameSite=Lax, host-only and for Path=/, and, when BaseURL is https,
// Secure with the __Host- prefix. The store keeps the session under the
// SHA-256 of the id, so a dump of the store holds nothing a browser could send,
// and seals its data (the user's claims and tokens) with AES-256-GCM. A sign-in
// in progress lives under an id of its own, in a second cookie, and every
// sign-in starts a session under a new id, so no id known before the sign-in
// (session fixation) becomes signed in. A session ends after [Timeouts]' idle
// time without requests, and at the latest its absolute time after sign-in.
// Tokens, refresh tokens above all, never reach the browser.
//
// Every request reads its session from the store, so a session ended on any
// replica (sign-out, sign-out everywhere) is refused on all at once. The Web
// keeps the sessions it decoded in memory (at most [CacheSize], the least
// recently used dropped first, none past its timeouts) and decodes a session
// again only when the store returns a version or content it has not seen.
//
// # Tokens across replicas
//
// [User.TokenSource] serves the session's access token while it is valid. Once
// it nears expiry, a pixie.Source whose Store is the session renews it: it
// takes the session's lock in the [SessionStore], re-reads the session, and
// either takes up the token a peer replica saved meanwhile or refreshes and
// saves the new token (compare-and-swap on the session's token version), so one
// replica at a time refreshes a session and a rotated refresh token is never
// lost.
package web
