package devserver

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pixieauth/pixie"
)

// parRecord is a pushed authorization request (RFC 9126).
type parRecord struct {
	clientID string
	params   url.Values
	expiry   time.Time
}

// parTTL is the lifetime of a request_uri.
const parTTL = time.Minute

const requestURIPrefix = "urn:ietf:params:oauth:request_uri:"

// handlePAR serves the pushed authorization request endpoint (RFC 9126 section
// 2): the client authenticates and pushes the authorization parameters, which are
// checked now, and receives a single-use request_uri. A DPoP proof sent along
// binds the authorization code to its key (RFC 9449 section 10.1).
func (s *Server) handlePAR(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, "POST") // RFC 9126 section 2.3
		return
	}
	form, c, ok := s.clientRequest(w, r)
	if !ok {
		return
	}
	if form.Has("request_uri") {
		writeError(w, r, oauthError(pixie.ErrInvalidRequest, "request_uri cannot be pushed (RFC 9126 section 2.1)"))
		return
	}
	params := url.Values{}
	for k, v := range form {
		if !strings.HasPrefix(k, "client_") {
			params[k] = v
		}
	}
	params.Set("client_id", c.ID)
	// RFC 9449 section 10.1: a DPoP proof with the pushed request binds the code
	// to its key, as dpop_jkt would; the two must agree.
	jkt, err := s.checkDPoP(w, r, "")
	if err == nil && jkt != "" && params.Has("dpop_jkt") && params.Get("dpop_jkt") != jkt {
		err = oauthError(pixie.ErrInvalidDPoPProof, "dpop_jkt differs from the key of the DPoP proof")
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	if jkt != "" {
		params.Set("dpop_jkt", jkt)
	}
	req, perr := s.newAuthRequest(r, params)
	if perr == nil {
		perr = s.checkAuthParams(req, params)
	}
	if perr != nil {
		writeError(w, r, perr)
		return
	}
	uri := requestURIPrefix + randomString(24)
	now := s.now()
	s.mu.Lock()
	for k, old := range s.pars {
		if !now.Before(old.expiry) {
			delete(s.pars, k)
		}
	}
	s.pars[uri] = &parRecord{clientID: c.ID, params: params, expiry: now.Add(parTTL)}
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"request_uri": uri, "expires_in": int64(parTTL / time.Second)})
}

// takePAR consumes a pushed request: a request_uri is single use, expires, and
// belongs to the client that pushed it.
func (s *Server) takePAR(uri, clientID string) (url.Values, *pixie.Error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.pars[uri]
	if !ok || rec.clientID != clientID || !now.Before(rec.expiry) {
		return nil, oauthError(pixie.ErrInvalidRequestURI, "unknown, expired or already used request_uri")
	}
	delete(s.pars, uri)
	return rec.params, nil
}
