package pixie

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/pixieauth/pixie/internal/wire"
)

// Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document):
// a client whose client_id is an https URL publishes its metadata at that URL,
// and a server that advertises client_id_metadata_document_supported fetches it
// there instead of requiring a registration.

// checkClientIDURL checks that id can be a client ID metadata document URL
// (draft-ietf-oauth-client-id-metadata-document section 3): https (or http on
// loopback, for development, as [wire.CheckURL] allows), with a path, and
// without fragment, user info, or dot segments.
func checkClientIDURL(id string, allowInsecure bool) error {
	if err := wire.CheckURL(id, allowInsecure); err != nil {
		return err
	}
	u, err := url.Parse(id)
	if err != nil {
		return err
	}
	if u.Path == "" || u.Path == "/" {
		return fmt.Errorf("client ID %q has no path (client ID metadata document section 3)", id)
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if seg == "." || seg == ".." {
			return fmt.Errorf("client ID %q has a dot segment (client ID metadata document section 3)", id)
		}
	}
	return nil
}

// IsClientIDMetadataURL reports whether clientID is a URL that can name a
// client ID metadata document: https with a path, no fragment, user info or
// dot segments (http only on a loopback host). [ForResource] uses such a
// client ID as it is when the server supports these documents.
func IsClientIDMetadataURL(clientID string) bool { return checkClientIDURL(clientID, false) == nil }

// ClientIDMetadataDocument renders the document the client publishes at its
// client ID, c.ClientID, an https URL (draft-ietf-oauth-client-id-metadata-
// document section 4): m, with client_id set to c.ClientID and these defaults
// for fields left empty: redirect_uris [c.RedirectURL], grant_types
// authorization_code and refresh_token, response_types code, scope c.Scopes,
// and token_endpoint_auth_method none (private_key_jwt when c has a ClientKey,
// whose public keys m must then give in jwks or jwks_uri). A shared secret
// cannot be announced in a public document, so the client_secret methods are
// refused. Serve the result with Content-Type application/json.
func (c *Config) ClientIDMetadataDocument(m ClientMetadata) ([]byte, error) {
	if err := checkClientIDURL(c.ClientID, c.AllowInsecureHTTP); err != nil {
		return nil, fmt.Errorf("pixie: client ID metadata document: %w", err)
	}
	m.ClientID = c.ClientID
	if len(m.RedirectURIs) == 0 && c.RedirectURL != "" {
		m.RedirectURIs = []string{c.RedirectURL}
	}
	if len(m.RedirectURIs) == 0 {
		return nil, errors.New("pixie: client ID metadata document: no redirect URI (set Config.RedirectURL or ClientMetadata.RedirectURIs)")
	}
	if len(m.GrantTypes) == 0 {
		m.GrantTypes = []string{"authorization_code", "refresh_token"}
	}
	if len(m.ResponseTypes) == 0 {
		m.ResponseTypes = []string{"code"}
	}
	if m.Scope == "" {
		m.Scope = strings.Join(c.Scopes, " ")
	}
	if m.TokenEndpointAuthMethod == "" {
		m.TokenEndpointAuthMethod = AuthNone
		if c.ClientKey != nil {
			m.TokenEndpointAuthMethod = PrivateKeyJWT
		}
	}
	switch m.TokenEndpointAuthMethod {
	case ClientSecretBasic, ClientSecretPost, ClientSecretJWT:
		return nil, fmt.Errorf("pixie: client ID metadata document: %s needs a shared secret, which a public document cannot carry; use none or private_key_jwt", m.TokenEndpointAuthMethod)
	case PrivateKeyJWT:
		if m.JWKSURI == "" && len(m.JWKS) == 0 {
			return nil, errors.New("pixie: client ID metadata document: private_key_jwt needs the public keys in jwks or jwks_uri")
		}
	}
	return json.MarshalIndent(m, "", "  ")
}
