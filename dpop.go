package pixie

// DPoPProver makes DPoP proofs (RFC 9449) with one key, so that the tokens a
// server issues are bound to that key and useless to anyone who steals them. The
// dpop package's Key is one. Set it as [Config.DPoP] for token requests and as
// [Transport.DPoP] for requests to resource servers. Implementations must be safe
// for concurrent use.
type DPoPProver interface {
	// Proof returns a DPoP proof JWT (RFC 9449 section 4.2) for an HTTP request
	// with the given method and URL. accessToken, when not empty, is the access
	// token the request carries, hashed into the ath claim (section 4.3). The
	// proof carries the nonce that the server at the URL's origin last gave with
	// SetNonce, if any (section 8).
	Proof(method, url, accessToken string) (string, error)
	// SetNonce records a DPoP-Nonce the server at url's origin returned
	// (RFC 9449 sections 8 and 9).
	SetNonce(url, nonce string)
	// Thumbprint returns the JWK SHA-256 thumbprint of the public key (RFC 7638),
	// base64url-encoded: the jkt of the tokens bound to it and the dpop_jkt of
	// an authorization request (RFC 9449 section 10).
	Thumbprint() string
}
