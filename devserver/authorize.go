package devserver

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/pixieauth/pixie"
)

// authRequest is an authorization request waiting for login and consent.
type authRequest struct {
	id            string
	csrf          string // the token the next form post must carry; single use
	binding       string // the browser the forms are rendered for: see bindForm
	client        *Client
	redirectURI   string
	redirectGiven bool
	scope         []string
	state         string
	nonce         string
	challenge     string
	dpopJKT       string
	resources     []string // RFC 8707: the access token's audience
	prompt        string
	maxAge        time.Duration // OIDC max_age; negative when absent
	expiry        time.Time
	user          *User
	authTime      time.Time
}

// authRequestTTL bounds how long a user may take on the login and consent pages.
const authRequestTTL = 10 * time.Minute

// codeChallengeRE is the S256 code_challenge: a base64url SHA-256 digest
// (RFC 7636 section 4.2).
var codeChallengeRE = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// handleAuthorize serves the authorization endpoint (RFC 6749 section 3.1) for the
// code response type only: no implicit grant.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		methodNotAllowed(w, "GET, POST")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		errorPage(w, r, oauthError(pixie.ErrInvalidRequest, "unreadable request"))
		return
	}
	req, pageErr := s.newAuthRequest(r, r.Form)
	if pageErr != nil {
		errorPage(w, r, pageErr)
		return
	}
	if err := s.checkAuthParams(req, r.Form); err != nil {
		s.redirectError(w, r, req, err)
		return
	}
	sess := s.session(r)
	if sess != nil && (req.maxAge == 0 || req.maxAge > 0 && s.now().Sub(sess.authTime) > req.maxAge) {
		sess = nil // too old for max_age (0 means always): the user logs in again
	}
	switch {
	case s.opts.AutoApprove:
		s.redirectCode(w, r, req, s.firstUser(), s.now())
	case req.prompt == "none" && sess == nil:
		s.redirectError(w, r, req, oauthError(pixie.ErrLoginRequired, "no session and prompt=none"))
	case req.prompt == "none":
		s.redirectError(w, r, req, oauthError(pixie.ErrConsentRequired, "consent is required and prompt=none"))
	case sess != nil && req.prompt != "login":
		req.user, req.authTime, req.binding = sess.user, sess.authTime, sessionBinding(sess)
		s.renderConsent(w, s.storeAuthRequest(req))
	default:
		req.binding = s.bindForm(w, r)
		s.renderLogin(w, s.storeAuthRequest(req), nil)
	}
}

// newAuthRequest resolves a pushed request_uri, the client and the redirect URI.
// Its errors cannot be redirected (RFC 6749 section 4.1.2.1): they are shown to
// the user.
func (s *Server) newAuthRequest(r *http.Request, q url.Values) (*authRequest, *pixie.Error) {
	for k, v := range q {
		if len(v) > 1 && k != "resource" { // RFC 8707 section 2: resource may repeat
			return nil, oauthError(pixie.ErrInvalidRequest, "parameter %s is repeated (RFC 6749 section 3.1)", k)
		}
	}
	id := q.Get("client_id")
	if id == "" {
		return nil, oauthError(pixie.ErrInvalidRequest, "client_id is missing")
	}
	c, err := s.lookupClient(r, id)
	if err != nil {
		return nil, err.(*pixie.Error)
	}
	if uri := q.Get("request_uri"); uri != "" {
		pushed, err := s.takePAR(uri, c.ID)
		if err != nil {
			return nil, err
		}
		// RFC 9126 section 4: only the pushed parameters count.
		for k := range q {
			delete(q, k)
		}
		for k, v := range pushed {
			q[k] = v
		}
		q.Set("client_id", c.ID)
	}
	req := &authRequest{id: randomString(16), client: c, redirectURI: q.Get("redirect_uri")}
	switch {
	case req.redirectURI != "":
		if !c.matchRedirect(req.redirectURI) {
			return nil, oauthError(pixie.ErrInvalidRequest, "redirect_uri is not registered for this client")
		}
		req.redirectGiven = true
	case len(c.RedirectURIs) == 1:
		req.redirectURI = c.RedirectURIs[0]
	default:
		return nil, oauthError(pixie.ErrInvalidRequest, "redirect_uri is missing and the client has not exactly one registered")
	}
	req.state = q.Get("state")
	return req, nil
}

// checkAuthParams checks the parameters whose errors are redirected to the client:
// response type, PKCE, scope, prompt.
func (s *Server) checkAuthParams(req *authRequest, q url.Values) *pixie.Error {
	switch rt := q.Get("response_type"); {
	case rt == "":
		return oauthError(pixie.ErrInvalidRequest, "response_type is missing")
	case rt != "code":
		return oauthError(pixie.ErrUnsupportedResponseType, "only response_type=code is supported; no implicit or hybrid flows")
	}
	if !req.client.allows(grantAuthorizationCode) {
		return oauthError(pixie.ErrUnauthorizedClient, "the client may not use the authorization code grant")
	}
	if q.Get("request") != "" {
		// Ignoring a request object would act on the unsigned parameters beside it.
		return oauthError(pixie.ErrRequestNotSupported, "request objects are not supported; send the parameters, or push them to the PAR endpoint")
	}
	if m := q.Get("response_mode"); m != "" && m != "query" {
		return oauthError(pixie.ErrInvalidRequest, "only response_mode=query is supported")
	}
	req.challenge = q.Get("code_challenge")
	switch method := q.Get("code_challenge_method"); {
	case req.challenge == "":
		return oauthError(pixie.ErrInvalidRequest, "code_challenge is required (PKCE, RFC 7636)")
	case method != "S256":
		return oauthError(pixie.ErrInvalidRequest, "code_challenge_method must be S256; plain is not supported")
	case !codeChallengeRE.MatchString(req.challenge):
		return oauthError(pixie.ErrInvalidRequest, "code_challenge must be 43 base64url characters (RFC 7636 section 4.2)")
	}
	var err error
	if req.scope, err = parseScope(q.Get("scope")); err != nil {
		return err.(*pixie.Error)
	}
	if err := req.client.checkScope(req.scope); err != nil {
		return err.(*pixie.Error)
	}
	req.prompt = q.Get("prompt")
	if !slices.Contains([]string{"", "none", "login", "consent"}, req.prompt) {
		return oauthError(pixie.ErrInvalidRequest, "prompt must be none, login or consent")
	}
	req.maxAge = -1
	if v := q.Get("max_age"); v != "" {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 0 {
			return oauthError(pixie.ErrInvalidRequest, "max_age must be a number of seconds (OpenID Connect Core section 3.1.2.1)")
		}
		req.maxAge = time.Duration(n) * time.Second
	}
	req.nonce = q.Get("nonce")
	req.dpopJKT = q.Get("dpop_jkt")
	if req.resources, err = checkResources(q); err != nil {
		return err.(*pixie.Error)
	}
	return nil
}

// storeAuthRequest keeps req for the login and consent forms and returns a copy
// to render them from.
func (s *Server) storeAuthRequest(req *authRequest) *authRequest {
	now := s.now()
	req.expiry = now.Add(authRequestTTL)
	req.csrf = randomString(16)
	snapshot := *req
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, old := range s.authReqs {
		if !now.Before(old.expiry) {
			delete(s.authReqs, id)
		}
	}
	s.authReqs[req.id] = req
	return &snapshot
}

// pendingRequest returns a copy of the authorization request a login or consent
// form was posted for, after checking and consuming its csrf_token, which must
// come from the browser the form was rendered for.
func (s *Server) pendingRequest(r *http.Request, form url.Values) (*authRequest, *pixie.Error) {
	now, binding := s.now(), s.formBinding(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	req, ok := s.authReqs[form.Get("request_id")]
	if !ok || !now.Before(req.expiry) {
		return nil, oauthError(pixie.ErrInvalidRequest, "unknown or expired authorization request; start again from the client")
	}
	setClient(r, req.client.ID)
	if req.csrf == "" || subtle.ConstantTimeCompare([]byte(req.csrf), []byte(form.Get("csrf_token"))) != 1 || !sameBinding(req.binding, binding) {
		return nil, oauthError(pixie.ErrInvalidRequest, "invalid csrf_token, or a form shown to another browser; start again from the application")
	}
	req.csrf = randomString(16)
	snapshot := *req
	return &snapshot, nil
}

// renderLogin shows the login page with the message of err, if any: 401 for a
// wrong password, 429 for a locked-out user.
func (s *Server) renderLogin(w http.ResponseWriter, req *authRequest, err error) {
	p := page{Title: "Sign in", Action: pathLogin, RequestID: req.id, CSRF: req.csrf, ClientName: req.client.displayName()}
	render(w, pageStatus(err, http.StatusUnauthorized, &p), "login", p)
}

func (s *Server) renderConsent(w http.ResponseWriter, req *authRequest) {
	render(w, http.StatusOK, "consent", page{Title: "Authorize " + req.client.displayName(), Action: pathConsent,
		RequestID: req.id, CSRF: req.csrf, ClientName: req.client.displayName(), Username: req.user.Username, Scope: req.scope})
}

func (c *Client) displayName() string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}

// pendingForm parses a POST from the login or consent page and finds the
// authorization request it continues. On failure it has shown an error page.
func (s *Server) pendingForm(w http.ResponseWriter, r *http.Request) (url.Values, *authRequest, bool) {
	form, ok := s.formPost(w, r)
	if !ok {
		return nil, nil, false
	}
	req, perr := s.pendingRequest(r, form)
	if perr != nil {
		errorPage(w, r, perr)
		return nil, nil, false
	}
	return form, req, true
}

// handleLogin checks the login form and shows the consent page.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	form, req, ok := s.pendingForm(w, r)
	if !ok {
		return
	}
	u, err := s.checkPassword(form.Get("username"), form.Get("password"))
	if err != nil {
		s.renderLogin(w, req, err)
		return
	}
	now := s.now()
	// The consent form is bound to the new session, which the browser holds
	// from this answer on.
	sess := s.startSession(w, u, now)
	req.user, req.authTime, req.binding = u, now, sessionBinding(sess)
	s.mu.Lock()
	if stored := s.authReqs[req.id]; stored != nil {
		stored.user, stored.authTime, stored.binding = u, now, req.binding
	}
	s.mu.Unlock()
	s.renderConsent(w, req)
}

// handleConsent records the user's decision and redirects to the client.
func (s *Server) handleConsent(w http.ResponseWriter, r *http.Request) {
	form, req, ok := s.pendingForm(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	delete(s.authReqs, req.id)
	s.mu.Unlock()
	switch user := req.user; {
	case user == nil:
		errorPage(w, r, oauthError(pixie.ErrInvalidRequest, "not signed in"))
	case form.Get("action") == "approve":
		s.redirectCode(w, r, req, user, req.authTime)
	default:
		s.redirectError(w, r, req, oauthError(pixie.ErrAccessDenied, "the user denied the request"))
	}
}

// errWrongPassword refuses a sign-in.
const errWrongPassword = userError("Wrong username or password.")

// checkPassword returns the user with these credentials, errWrongPassword, or
// tooManyGuesses for a user name locked out by maxGuesses wrong passwords
// within guessWindow: then every password is refused for guessLockout, the
// right one too, so that guessing goes no further. A right password clears the
// count. The limit holds on every page and grant that takes a password.
func (s *Server) checkPassword(username, password string) (*User, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[username]
	if u == nil {
		return nil, errWrongPassword
	}
	key := passwordGuessKey(username)
	if err := s.lockedOutLocked(key, guessedPasswords, now); err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(u.Password.Reveal()), []byte(password)) != 1 {
		if err := s.missLocked(key, guessedPasswords, now); err != nil {
			return nil, err
		}
		return nil, errWrongPassword
	}
	delete(s.guesses, key)
	return u, nil
}

// redirectCode issues an authorization code for req and user and redirects to the
// client with code, state and iss (RFC 6749 section 4.1.2, RFC 9207).
func (s *Server) redirectCode(w http.ResponseWriter, r *http.Request, req *authRequest, user *User, authTime time.Time) {
	code, now := randomString(32), s.now()
	rec := &codeRecord{
		grantInfo:     grantInfo{clientID: req.client.ID, user: user, scope: req.scope, audience: req.resources, authTime: authTime, family: randomString(12)},
		redirectURI:   req.redirectURI,
		redirectGiven: req.redirectGiven,
		challenge:     req.challenge,
		nonce:         req.nonce,
		dpopJKT:       req.dpopJKT,
		expiry:        now.Add(s.opts.CodeTTL),
	}
	s.mu.Lock()
	s.codes[tokenKey(code)] = rec
	s.countIssuedLocked(now)
	s.mu.Unlock()
	s.redirect(w, r, req, url.Values{"code": {code}})
}

// redirectError sends an authorization error to the client (RFC 6749 section
// 4.1.2.1).
func (s *Server) redirectError(w http.ResponseWriter, r *http.Request, req *authRequest, e *pixie.Error) {
	if info := infoFrom(r); info != nil {
		info.errorCode = e.Code
	}
	v := url.Values{"error": {e.Code}}
	if e.Description != "" {
		v.Set("error_description", e.Description)
	}
	s.redirect(w, r, req, v)
}

func (s *Server) redirect(w http.ResponseWriter, r *http.Request, req *authRequest, v url.Values) {
	u, _ := url.Parse(req.redirectURI) // checked at registration
	q := u.Query()
	for k, vals := range v {
		q[k] = vals
	}
	if req.state != "" {
		q.Set("state", req.state)
	}
	q.Set("iss", s.issuer)
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther
	}
	http.Redirect(w, r, u.String(), status)
}
