// Package devserver is a local OAuth 2.0 authorization server and OpenID Connect
// provider for development, demos and tests. It is a development server, not a
// production IdP: it keeps its state in memory, generates its signing keys at start,
// serves an admin API under /admin/ that needs no authentication unless
// [Options.AdminToken] is set, and is meant to listen on loopback only.
//
// It follows the RFCs strictly, because clients are tested against it and leniency
// hides bugs:
//
//   - discovery: RFC 8414 and OpenID Connect Discovery metadata, a JWKS with an
//     RS256 and an ES256 key, rotated on demand ([Server.RotateKeys]);
//   - grants: authorization code with PKCE S256 required (RFC 7636, RFC 9700),
//     client credentials, refresh tokens with rotation and reuse detection, device
//     authorization (RFC 8628), token exchange (RFC 8693), JWT bearer (RFC 7523) and,
//     only when [Options.EnablePassword] is set, the resource owner password grant;
//   - client authentication: client_secret_basic, client_secret_post, none,
//     client_secret_jwt and private_key_jwt (RFC 7523 section 2.2);
//   - tokens: RFC 9068 JWT or opaque access tokens, OpenID Connect ID tokens,
//     DPoP-bound tokens (RFC 9449); revocation (RFC 7009), introspection (RFC 7662),
//     userinfo, sign-out at /end_session (OpenID Connect RP-Initiated Logout
//     1.0, to a registered [Client.PostLogoutRedirectURIs] entry only), pushed
//     authorization requests (RFC 9126), dynamic client
//     registration and management (RFC 7591, RFC 7592) and client ID metadata
//     documents (fetched over https, or http on loopback);
//   - protected resources: the resource parameter (RFC 8707) becomes the access
//     token's aud, and userinfo and, with [Options.ProtectedResources], a demo
//     API at /api refuse tokens minted for another resource and publish RFC 9728
//     metadata (see resource.go);
//   - fault injection ([Faults]) and Prometheus counters at /metrics.
//
// A [Server] is an http.Handler; mount it at the root of a listener whose URL is
// [Options.Issuer]. The devservertest package starts one for tests.
//
// # Login, consent and device pages
//
// The pages are plain HTML forms that a program can fill with net/http:
//
//   - GET /authorize answers with the login page (unless the browser already has a
//     session) whose form posts to /login the fields "username", "password",
//     "request_id" and "csrf_token" (both copied from hidden inputs of the page).
//   - A successful login sets the session cookie "pixie_devserver_session" and
//     answers with the consent page, whose form posts to /consent the fields
//     "request_id", "csrf_token" and "action" ("approve" or "deny").
//   - The consent answer is a 303 redirect to the client's redirect URI with "code"
//     (or "error"), "state" and "iss" (RFC 9207).
//   - GET /device (the verification URI) shows a form posting to /device the fields
//     "user_code", "csrf_token", "action" ("approve" or "deny") and, without a
//     session, "username" and "password". The page names the client of the code
//     and its scopes (RFC 8628 section 5.4) only to a signed-in user: without a
//     session its button posts action "continue", which signs in and shows the
//     page again with the client named and Allow and Deny buttons. A program
//     may still post "approve" or "deny" with the credentials at once. A user
//     who enters, or opens the page with, five wrong codes within ten minutes is
//     refused every code for fifteen minutes (HTTP 429), against guessing (RFC
//     8628 section 5.1); other users are not affected.
//
// Five wrong passwords for a user within ten minutes likewise refuse that user
// every password, the right one included, for fifteen minutes (HTTP 429 on the
// pages, invalid_grant from the password grant); a right password before that
// clears the count. Counts are per user name, not per client address: on
// loopback every client shares one.
//
// Every csrf_token is single use, valid for the form it was rendered in, and
// only in the browser it was rendered for: the browser's session, or before
// sign-in the cookie "pixie_devserver_browser", so a program filling the forms
// must keep cookies. A form posted from another origin is refused with 403:
// a Sec-Fetch-Site header other than same-origin or none, or an Origin header
// other than the server's. Requests with neither header, from programs and
// old browsers, are accepted (their csrf_token must still match).
// With [Options.AutoApprove] the login and consent pages are skipped: /authorize
// redirects at once with a code for the first user, and opening the verification
// URI with a user_code approves that device for the first user.
//
// # Admin API, metrics and logs
//
// GET /admin/faults returns the injected [Faults] as JSON and PUT /admin/faults
// replaces them; POST /admin/rotate-keys rotates the signing keys. The admin API
// has no authentication unless [Options.AdminToken] is set, and dynamic client
// registration none unless [Options.RegistrationToken] is: keep the server on
// loopback, or set both.
//
// GET /metrics serves the counter pixie_devserver_requests_total, labelled with
// endpoint, grant_type, client_id and status, in the Prometheus text format;
// [Server.Count] reads the same counters from Go. Each request is logged once to
// [Options.Logger] with its method, path, endpoint, status, grant type, client and
// OAuth error code: never a parameter value or a header, so no secret.
//
// # State
//
// State is kept in memory, tokens under their SHA-256 digests. With
// [Options.StatePath], clients, tokens and signing keys are also saved to a SQLite
// file, so a restarted server keeps them.
package devserver
