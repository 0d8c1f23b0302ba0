// Package dpop makes DPoP proofs (OAuth 2.0 Demonstrating Proof of Possession,
// RFC 9449) for pixie clients.
//
// A bearer access or refresh token works for whoever holds it: stolen from a log,
// a cache or a compromised proxy, it is as good as the client's own. With DPoP the
// client holds a private key and signs a short proof JWT for every request; the
// authorization server binds the tokens it issues to that key (the token's
// cnf.jkt is the key's RFC 7638 thumbprint, and token_type is "DPoP"), and servers
// accept the token only with a fresh proof signed by the same key. A stolen token
// without the key is useless.
//
// Create a [Key] once and use it for the tokens' whole life:
//
//	key, err := dpop.NewKey() // ECDSA P-256, ES256
//	if err != nil { ... }
//	cfg := &pixie.Config{ /* ... */ DPoP: key} // token requests carry a proof
//	client := &http.Client{Transport: &pixie.Transport{ /* ... */ DPoP: key}}
//
// With [pixie.Config.DPoP] set, every token request (authorization code, refresh,
// client credentials, device, ...) carries a DPoP header, so the issued tokens
// are bound to the key. With [pixie.Transport.DPoP] set, requests to resource
// servers send "Authorization: DPoP <token>" with a proof whose ath claim hashes
// the token (RFC 9449 section 7). When a server answers with a DPoP-Nonce header
// (sections 8 and 9), pixie records it with [Key.SetNonce] and the next proof for
// that origin carries it.
//
// A token bound to a key is worthless once the key is gone, so a program that
// keeps tokens across runs must keep the key too: [Key.MarshalPrivateJWK] encodes
// it as a private JWK (RFC 7517) to be stored as carefully as the tokens, and
// [UnmarshalPrivateJWK] restores it. Nothing else ever shows the private part:
// fmt, log/slog, encoding/json and encoding.TextMarshaler print only the
// algorithm and thumbprint.
package dpop
