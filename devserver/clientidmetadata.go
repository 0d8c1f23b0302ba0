package devserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pixieauth/pixie"
)

// Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document):
// a client_id that is an https URL names a JSON document of the client's
// metadata, which the server fetches instead of requiring a registration. Being
// a development server, this one also fetches http URLs on loopback hosts.

// Limits on fetching a client ID metadata document: documents are small, and a
// client must not be able to make the server wait.
const (
	maxClientMetadataBytes = 5 << 10
	clientMetadataTimeout  = 5 * time.Second
	// clientMetadataTTL is how long a fetched document is used before it is
	// fetched again.
	clientMetadataTTL = 5 * time.Minute
)

// clientMetadataHTTP fetches the documents. It follows no redirect: the
// document must be at the client ID itself.
var clientMetadataHTTP = &http.Client{
	Timeout:       clientMetadataTimeout,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// isMetadataClientID reports whether id is a client ID metadata document URL
// (section 3): https with a path, without fragment, user info or dot
// segments; or the same over http on a loopback host, for development.
func isMetadataClientID(id string) bool {
	u, err := url.Parse(id)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" || u.RawFragment != "" ||
		u.Path == "" || u.Path == "/" {
		return false
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		h := u.Hostname()
		return h == "localhost" || isLoopbackIP(h)
	}
	return false
}

// clientMetadataDoc is the part of a client ID metadata document the server
// reads.
type clientMetadataDoc struct {
	registration
	ClientSecret string `json:"client_secret"`
	JWKSURI      string `json:"jwks_uri"`
}

// metadataClient returns the client whose client ID metadata document is at
// id, fetching and checking it (section 4) unless cached is still fresh. The
// client is kept for clientMetadataTTL.
func (s *Server) metadataClient(r *http.Request, id string, cached *Client) (*Client, error) {
	now := s.now()
	if cached != nil && now.Before(cached.fetchedUntil) {
		setClient(r, id)
		return cached, nil
	}
	c, err := s.fetchClientMetadata(r, id)
	if err != nil {
		return nil, oauthError(pixie.ErrInvalidClient, "client ID metadata document %s: %v", id, err)
	}
	c.fetchedUntil = now.Add(clientMetadataTTL)
	s.mu.Lock()
	if old, ok := s.clients[id]; ok && old.fetchedUntil.IsZero() {
		// Registered meanwhile under this ID: the registration wins.
		c = old
	} else {
		s.clients[id] = c
	}
	s.mu.Unlock()
	setClient(r, id)
	return c, nil
}

// fetchClientMetadata GETs the document at id and turns it into a public (or
// private_key_jwt) client. The document's client_id must be id exactly, and its
// redirect URIs must pass the checks of registered ones.
func (s *Server) fetchClientMetadata(r *http.Request, id string) (*Client, error) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, id, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := clientMetadataHTTP.Do(req)
	if err != nil {
		return nil, errors.New("it could not be fetched")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New("fetching it answered HTTP " + resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxClientMetadataBytes+1))
	if err != nil {
		return nil, errors.New("reading it failed")
	}
	if len(body) > maxClientMetadataBytes {
		return nil, errors.New("it is larger than 5 KiB")
	}
	var doc clientMetadataDoc
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&doc); err != nil {
		return nil, errors.New("it is not a JSON object of client metadata")
	}
	switch {
	case doc.ClientID != id:
		return nil, errors.New("its client_id is not the URL it was fetched from")
	case doc.ClientSecret != "":
		return nil, errors.New("it holds a client_secret, which a public document must not")
	case doc.JWKSURI != "":
		return nil, errors.New("jwks_uri is not supported; give the keys in jwks")
	case len(doc.RedirectURIs) == 0:
		return nil, errors.New("it has no redirect_uris")
	}
	c := Client{ID: id, AuthMethod: pixie.AuthMethod(doc.TokenEndpointAuthMethod), RedirectURIs: doc.RedirectURIs,
		GrantTypes: doc.GrantTypes, Name: doc.ClientName}
	switch c.AuthMethod {
	case "":
		c.AuthMethod = pixie.AuthNone
	case pixie.AuthNone, pixie.PrivateKeyJWT:
	default:
		return nil, errors.New("token_endpoint_auth_method must be none or private_key_jwt: a public document cannot share a secret")
	}
	if doc.JWKS != nil {
		c.Keys = *doc.JWKS
	}
	if slices.ContainsFunc(doc.ResponseTypes, func(t string) bool { return t != "code" }) {
		return nil, errors.New("only the code response type is supported")
	}
	if doc.Scope != "" {
		c.Scopes = strings.Fields(doc.Scope)
	}
	if err := s.checkClient(&c); err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "devserver: "))
	}
	return &c, nil
}
