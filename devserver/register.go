package devserver

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"
	"github.com/pixieauth/pixie"
)

// registration is the client metadata of RFC 7591 section 2 that the server
// understands.
type registration struct {
	RedirectURIs            []string            `json:"redirect_uris,omitempty"`
	TokenEndpointAuthMethod string              `json:"token_endpoint_auth_method,omitempty"`
	GrantTypes              []string            `json:"grant_types,omitempty"`
	ResponseTypes           []string            `json:"response_types,omitempty"`
	ClientName              string              `json:"client_name,omitempty"`
	Scope                   string              `json:"scope,omitempty"`
	JWKS                    *jose.JSONWebKeySet `json:"jwks,omitempty"`
}

// handleRegister serves dynamic client registration (RFC 7591 section 3), with
// [Options.RegistrationToken] to requests that carry it. The defaults are
// those of section 2: client_secret_basic and the authorization code grant.
func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, "POST")
		return
	}
	if !requireToken(w, r, s.opts.RegistrationToken, "initial access token") {
		return
	}
	var m registration
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxFormBytes)).Decode(&m); err != nil {
		writeError(w, r, oauthError(pixie.ErrInvalidClientMetadata, "the body must be a JSON object of client metadata"))
		return
	}
	if m.TokenEndpointAuthMethod == "" {
		m.TokenEndpointAuthMethod = string(pixie.ClientSecretBasic)
	}
	if len(m.GrantTypes) == 0 {
		m.GrantTypes = []string{grantAuthorizationCode}
	}
	if len(m.ResponseTypes) == 0 {
		m.ResponseTypes = []string{"code"}
	}
	if slices.ContainsFunc(m.ResponseTypes, func(t string) bool { return t != "code" }) {
		writeError(w, r, oauthError(pixie.ErrInvalidClientMetadata, "only the code response type is supported"))
		return
	}
	if slices.Contains(m.GrantTypes, grantAuthorizationCode) && len(m.RedirectURIs) == 0 {
		writeError(w, r, oauthError(pixie.ErrInvalidRedirectURI, "redirect_uris are required for the authorization_code grant"))
		return
	}
	for _, u := range m.RedirectURIs {
		if err := checkRedirectURI(u); err != nil {
			writeError(w, r, oauthError(pixie.ErrInvalidRedirectURI, "%v", err))
			return
		}
	}
	c := Client{
		ID:           "dyn-" + randomString(12),
		AuthMethod:   pixie.AuthMethod(m.TokenEndpointAuthMethod),
		RedirectURIs: m.RedirectURIs,
		GrantTypes:   m.GrantTypes,
		Name:         m.ClientName,
	}
	if m.Scope != "" {
		c.Scopes = strings.Fields(m.Scope)
	}
	if m.JWKS != nil {
		c.Keys = *m.JWKS
	}
	switch c.AuthMethod {
	case pixie.ClientSecretBasic, pixie.ClientSecretPost, pixie.ClientSecretJWT:
		c.Secret = pixie.NewSecret(randomString(32))
	}
	if err := s.AddClient(c); err != nil {
		writeError(w, r, oauthError(pixie.ErrInvalidClientMetadata, "%s", strings.TrimPrefix(err.Error(), "devserver: ")))
		return
	}
	setClient(r, c.ID)
	resp := map[string]any{
		"client_id":                  c.ID,
		"client_id_issued_at":        s.now().Unix(),
		"token_endpoint_auth_method": c.AuthMethod,
		"grant_types":                c.GrantTypes,
		"response_types":             m.ResponseTypes,
	}
	if !c.Secret.IsZero() {
		resp["client_secret"] = c.Secret.Reveal()
		resp["client_secret_expires_at"] = 0
	}
	if len(c.RedirectURIs) > 0 {
		resp["redirect_uris"] = c.RedirectURIs
	}
	if c.Name != "" {
		resp["client_name"] = c.Name
	}
	if m.Scope != "" {
		resp["scope"] = m.Scope
	}
	if m.JWKS != nil {
		resp["jwks"] = m.JWKS
	}
	writeJSON(w, http.StatusCreated, resp)
}
