package devserver

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"
	"github.com/pixieauth/pixie"
)

// registration is the client metadata of RFC 7591 section 2 that the server
// understands.
type registration struct {
	// ClientID is sent only in RFC 7592 updates and client ID metadata
	// documents.
	ClientID                string              `json:"client_id,omitempty"`
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
// The answer includes a registration access token and the client's
// configuration URL for RFC 7592 management (handleRegistration).
func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, "POST")
		return
	}
	if !requireToken(w, r, s.opts.RegistrationToken, "initial access token") {
		return
	}
	m, ok := readRegistration(w, r)
	if !ok {
		return
	}
	c := Client{ID: "dyn-" + randomString(12)}
	if err := m.apply(&c); err != nil {
		writeError(w, r, err)
		return
	}
	switch c.AuthMethod {
	case pixie.ClientSecretBasic, pixie.ClientSecretPost, pixie.ClientSecretJWT:
		c.Secret = pixie.NewSecret(randomString(32))
		if ttl := s.opts.RegistrationSecretTTL; ttl > 0 {
			c.SecretExpiresAt = s.now().Add(ttl)
		}
	}
	accessToken := randomString(32)
	c.registrationToken = tokenKey(accessToken)
	if err := s.AddClient(c); err != nil {
		writeError(w, r, oauthError(pixie.ErrInvalidClientMetadata, "%s", strings.TrimPrefix(err.Error(), "devserver: ")))
		return
	}
	setClient(r, c.ID)
	resp := s.registrationResponse(&c, m)
	resp["client_id_issued_at"] = s.now().Unix()
	resp["registration_access_token"] = accessToken
	writeJSON(w, http.StatusCreated, resp)
}

// readRegistration decodes a request's client metadata and fills the section 2
// defaults. On failure it has written the error.
func readRegistration(w http.ResponseWriter, r *http.Request) (*registration, bool) {
	var m registration
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxFormBytes)).Decode(&m); err != nil {
		writeError(w, r, oauthError(pixie.ErrInvalidClientMetadata, "the body must be a JSON object of client metadata"))
		return nil, false
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
	return &m, true
}

// apply checks m and sets the client's metadata from it.
func (m *registration) apply(c *Client) *pixie.Error {
	if slices.ContainsFunc(m.ResponseTypes, func(t string) bool { return t != "code" }) {
		return oauthError(pixie.ErrInvalidClientMetadata, "only the code response type is supported")
	}
	if slices.Contains(m.GrantTypes, grantAuthorizationCode) && len(m.RedirectURIs) == 0 {
		return oauthError(pixie.ErrInvalidRedirectURI, "redirect_uris are required for the authorization_code grant")
	}
	for _, u := range m.RedirectURIs {
		if err := checkRedirectURI(u); err != nil {
			return oauthError(pixie.ErrInvalidRedirectURI, "%v", err)
		}
	}
	c.AuthMethod = pixie.AuthMethod(m.TokenEndpointAuthMethod)
	c.RedirectURIs, c.GrantTypes, c.Name = m.RedirectURIs, m.GrantTypes, m.ClientName
	c.Scopes, c.Keys = nil, jose.JSONWebKeySet{}
	if m.Scope != "" {
		c.Scopes = strings.Fields(m.Scope)
	}
	if m.JWKS != nil {
		c.Keys = *m.JWKS
	}
	return nil
}

// registrationResponse is the client information response (RFC 7591 section
// 3.2.1, RFC 7592 section 3) for c, registered with m.
func (s *Server) registrationResponse(c *Client, m *registration) map[string]any {
	resp := map[string]any{
		"client_id":                  c.ID,
		"token_endpoint_auth_method": c.AuthMethod,
		"grant_types":                c.GrantTypes,
		"response_types":             m.ResponseTypes,
		"registration_client_uri":    s.url(pathRegister + "/" + url.PathEscape(c.ID)),
	}
	if !c.Secret.IsZero() {
		resp["client_secret"] = c.Secret.Reveal()
		resp["client_secret_expires_at"] = 0
		if !c.SecretExpiresAt.IsZero() {
			resp["client_secret_expires_at"] = c.SecretExpiresAt.Unix()
		}
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
	return resp
}

// handleRegistration serves a dynamically registered client's configuration
// endpoint (RFC 7592 section 2): GET reads the registration, PUT replaces its
// metadata (keeping its credentials), DELETE deregisters the client. Each needs
// the client's registration access token; an unknown client and a wrong token
// get the same 401 (section 2.1).
func (s *Server) handleRegistration(w http.ResponseWriter, r *http.Request) {
	id, err := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), pathRegister+"/"))
	s.mu.Lock()
	c, ok := s.clients[id]
	var current Client
	if ok {
		current = *c
	}
	s.mu.Unlock()
	_, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if err != nil || !ok || current.registrationToken == "" ||
		subtle.ConstantTimeCompare([]byte(tokenKey(token)), []byte(current.registrationToken)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="pixie devserver", error="invalid_token"`)
		writeError(w, r, oauthError(pixie.ErrInvalidToken, "unknown client, or not its registration access token"))
		return
	}
	setClient(r, id)
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, s.registrationResponse(&current, registrationOf(&current)))
	case http.MethodPut:
		m, ok := readRegistration(w, r)
		if !ok {
			return
		}
		if m.ClientID != id {
			writeError(w, r, oauthError(pixie.ErrInvalidRequest, "the update must carry the client's client_id (RFC 7592 section 2.2)"))
			return
		}
		updated := current
		if err := m.apply(&updated); err != nil {
			writeError(w, r, err)
			return
		}
		if updated.AuthMethod != current.AuthMethod {
			writeError(w, r, oauthError(pixie.ErrInvalidClientMetadata, "token_endpoint_auth_method cannot change; register a new client"))
			return
		}
		if err := s.checkClient(&updated); err != nil {
			writeError(w, r, oauthError(pixie.ErrInvalidClientMetadata, "%s", strings.TrimPrefix(err.Error(), "devserver: ")))
			return
		}
		s.mu.Lock()
		err := s.persist(func(d *stateDB) error { return d.putClient(&updated) })
		if err == nil {
			s.clients[id] = &updated
		}
		s.mu.Unlock()
		if err != nil {
			writeError(w, r, oauthError(pixie.ErrServerError, "saving the client failed"))
			return
		}
		writeJSON(w, http.StatusOK, s.registrationResponse(&updated, m))
	case http.MethodDelete:
		s.mu.Lock()
		err := s.persist(func(d *stateDB) error { return d.deleteClient(id) })
		if err == nil {
			delete(s.clients, id)
		}
		s.mu.Unlock()
		if err != nil {
			writeError(w, r, oauthError(pixie.ErrServerError, "deleting the client failed"))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		methodNotAllowed(w, "GET, PUT, DELETE")
	}
}

// registrationOf is the metadata a registered client answers with.
func registrationOf(c *Client) *registration {
	m := &registration{ResponseTypes: []string{"code"}, Scope: strings.Join(c.Scopes, " ")}
	if len(c.Keys.Keys) > 0 {
		m.JWKS = &c.Keys
	}
	return m
}
