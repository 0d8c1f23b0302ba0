package devserver

import (
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pixieauth/pixie"
)

// deviceRecord is a device authorization (RFC 8628 section 3.2) and its state.
type deviceRecord struct {
	clientID string
	scope    []string
	userCode string
	expiry   time.Time
	interval time.Duration
	lastPoll time.Time
	decided  bool
	approved bool
	user     *User
	authTime time.Time
}

// userCodeAlphabet has no vowels, so user codes spell no words, and no characters
// easily confused (RFC 8628 section 6.1).
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

func newUserCode() string {
	b := make([]byte, 8)
	rand.Read(b)
	for i := range b {
		b[i] = userCodeAlphabet[int(b[i])%len(userCodeAlphabet)]
	}
	return string(b[:4]) + "-" + string(b[4:])
}

// normalizeUserCode uppercases a typed user code and drops separators.
func normalizeUserCode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if strings.ContainsRune(userCodeAlphabet, r) {
			b.WriteRune(r)
		}
	}
	if b.Len() != 8 {
		return ""
	}
	v := b.String()
	return v[:4] + "-" + v[4:]
}

// handleDeviceAuthorization serves the device authorization endpoint (RFC 8628
// section 3.1).
func (s *Server) handleDeviceAuthorization(w http.ResponseWriter, r *http.Request) {
	form, c, ok := s.clientRequest(w, r)
	if !ok {
		return
	}
	if !c.allows(grantDeviceCode) {
		writeError(w, r, oauthError(pixie.ErrUnauthorizedClient, "client %s may not use the device grant", c.ID))
		return
	}
	scope, err := requestedScope(form, c)
	if err != nil {
		writeError(w, r, err)
		return
	}
	now := s.now()
	deviceCode := randomString(32)
	rec := &deviceRecord{clientID: c.ID, scope: scope, userCode: newUserCode(),
		expiry: now.Add(s.opts.DeviceCodeTTL), interval: s.opts.DeviceInterval}
	s.mu.Lock()
	for dc, old := range s.devices {
		if !now.Before(old.expiry) {
			delete(s.devices, dc)
			delete(s.userCodes, old.userCode)
		}
	}
	s.devices[deviceCode] = rec
	s.userCodes[rec.userCode] = deviceCode
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code":               deviceCode,
		"user_code":                 rec.userCode,
		"verification_uri":          s.url(pathDevice),
		"verification_uri_complete": s.url(pathDevice) + "?user_code=" + url.QueryEscape(rec.userCode),
		"expires_in":                int64(s.opts.DeviceCodeTTL / time.Second),
		"interval":                  int64(rec.interval / time.Second),
	})
}

// handleDevice serves the verification page (RFC 8628 section 3.3): a signed-in
// user enters the user code and approves or denies.
func (s *Server) handleDevice(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		code := r.URL.Query().Get("user_code")
		if s.opts.AutoApprove && code != "" {
			if err := s.decideDevice(code, s.firstUser(), true); err != nil {
				s.renderDevice(w, r, nil, code, err)
				return
			}
			render(w, http.StatusOK, "device", page{Title: "Device approved", Done: "The device is approved; return to it."})
			return
		}
		s.renderDevice(w, r, s.session(r), code, nil)
	case http.MethodPost:
		s.postDevice(w, r)
	default:
		methodNotAllowed(w, "GET, POST")
	}
}

// formToken is a csrf_token of the device page.
type formToken struct {
	binding string // see bindForm
	expiry  time.Time
}

// renderDevice shows the verification page with a fresh form, for sess (nil
// when the browser is not signed in), with the message of err, if any: 429 for
// a user locked out by tooManyGuesses, 400 for other errors.
//
// Without an error, a signed-in user's page names the client of the user code
// and the scopes it asks for, so the user sees what asks for access before
// approving (RFC 8628 section 5.4). Only a signed-in user's page does, and an
// unknown code counts as a wrong one (see enterUserCode): otherwise the page
// would tell anyone, as often as asked, which codes are live.
func (s *Server) renderDevice(w http.ResponseWriter, r *http.Request, sess *session, userCode string, err error) {
	var binding string
	if sess != nil {
		binding = sessionBinding(sess)
	} else {
		binding = s.bindForm(w, r)
	}
	csrf := randomString(16)
	now := s.now()
	p := page{Title: "Connect a device", Action: pathDevice, CSRF: csrf, UserCode: userCode}
	s.mu.Lock()
	for k, t := range s.formTokens {
		if !now.Before(t.expiry) {
			delete(s.formTokens, k)
		}
	}
	s.formTokens[csrf] = formToken{binding: binding, expiry: now.Add(authRequestTTL)}
	if sess != nil && err == nil && userCode != "" {
		var rec *deviceRecord
		if rec, err = s.lookUpUserCodeLocked(userCode, sess.user, now); err == nil {
			p.ClientName, p.Scope = s.clients[rec.clientID].displayName(), rec.scope
		}
	}
	s.mu.Unlock()
	if sess != nil {
		p.Username = sess.user.Username
	}
	render(w, pageStatus(err, http.StatusBadRequest, &p), "device", p)
}

// postDevice takes the verification form. With "action" approve or deny it
// records the decision; with any other action (the page's Continue button) it
// only signs the user in and shows the page again, naming the client.
func (s *Server) postDevice(w http.ResponseWriter, r *http.Request) {
	form, ok := s.formPost(w, r)
	if !ok {
		return
	}
	now := s.now()
	csrf := form.Get("csrf_token")
	s.mu.Lock()
	t, ok := s.formTokens[csrf]
	delete(s.formTokens, csrf)
	s.mu.Unlock()
	code := form.Get("user_code")
	sess := s.session(r)
	if !ok || !now.Before(t.expiry) || !sameBinding(t.binding, s.formBinding(r)) {
		s.renderDevice(w, r, sess, code, userError("The form expired or was shown to another browser; submit it again."))
		return
	}
	if sess == nil {
		user, err := s.checkPassword(form.Get("username"), form.Get("password"))
		if err != nil {
			s.renderDevice(w, r, nil, code, err)
			return
		}
		sess = s.startSession(w, user, now)
	}
	var approve bool
	switch form.Get("action") {
	case "approve":
		approve = true
	case "deny":
	default:
		s.renderDevice(w, r, sess, code, nil)
		return
	}
	if err := s.enterUserCode(code, sess.user, approve); err != nil {
		s.renderDevice(w, r, sess, code, err)
		return
	}
	done := "The device is approved; return to it."
	if !approve {
		done = "Access was denied; the device will be told."
	}
	render(w, http.StatusOK, "device", page{Title: "Connect a device", Done: done})
}

// enterUserCode is decideDevice for a user code typed on the verification page,
// limited against guessing (RFC 8628 section 5.1): maxGuesses wrong codes
// within guessWindow, entered or looked up, refuse the user every code, right
// ones included, for guessLockout. The count is the signed-in user's, since
// every attempt needs one: a fresh form or cookie does not reset it, and other
// users are not affected. It has an entry per registered user at most. A right
// code does not reset it: anyone can start a device authorization and enter its
// code, which would otherwise buy maxGuesses more guesses each time.
// The approval by URL of [Options.AutoApprove] is not limited: it approves
// every code for the first user, whoever opens it.
func (s *Server) enterUserCode(userCode string, user *User, approve bool) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.lookUpUserCodeLocked(userCode, user, now)
	if err != nil {
		return err
	}
	rec.decide(user, approve, now)
	return nil
}

// lookUpUserCodeLocked returns the undecided device authorization of userCode
// for user, counting an unknown code as a wrong guess (see enterUserCode).
// s.mu must be held.
func (s *Server) lookUpUserCodeLocked(userCode string, user *User, now time.Time) (*deviceRecord, error) {
	key := codeGuessKey(user)
	if err := s.lockedOutLocked(key, guessedCodes, now); err != nil {
		return nil, err
	}
	rec := s.liveDeviceLocked(userCode, now)
	if rec == nil {
		if err := s.missLocked(key, guessedCodes, now); err != nil {
			return nil, err
		}
		return nil, errUnknownCode
	}
	return rec, nil
}

// decideDevice records the user's decision on the device authorization with the
// given user code.
func (s *Server) decideDevice(userCode string, user *User, approve bool) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.liveDeviceLocked(userCode, now)
	if rec == nil {
		return errUnknownCode
	}
	rec.decide(user, approve, now)
	return nil
}

// decide records user's decision at now. The server's lock must be held.
func (rec *deviceRecord) decide(user *User, approve bool, now time.Time) {
	rec.decided, rec.approved, rec.user, rec.authTime = true, approve, user, now
}

// liveDeviceLocked returns the undecided, unexpired device authorization with
// the given user code, or nil. s.mu must be held.
func (s *Server) liveDeviceLocked(userCode string, now time.Time) *deviceRecord {
	rec := s.devices[s.userCodes[normalizeUserCode(userCode)]]
	if rec == nil || rec.decided || !now.Before(rec.expiry) {
		return nil
	}
	return rec
}

// errUnknownCode refuses a user code that names no live device authorization.
const errUnknownCode = userError("Unknown, expired or already used code; check it and try again.")

// userError is a message for the user on a page.
type userError string

func (e userError) Error() string { return string(e) }

// grantDeviceCode polls for the tokens of a device authorization (RFC 8628
// section 3.4): authorization_pending until the user decides, slow_down (and an
// interval five seconds longer) when polled faster than the interval,
// access_denied, expired_token.
func (s *Server) grantDeviceCode(r *http.Request, form url.Values, c *Client, jkt string) (*tokenResponse, error) {
	dc := form.Get("device_code")
	if dc == "" {
		return nil, oauthError(pixie.ErrInvalidRequest, "device_code is missing")
	}
	now := s.now()
	s.mu.Lock()
	rec := s.devices[dc]
	var err error
	switch {
	case rec == nil:
		err = oauthError(pixie.ErrInvalidGrant, "unknown or already redeemed device_code")
	case rec.clientID != c.ID:
		err = oauthError(pixie.ErrInvalidGrant, "the device_code was issued to another client")
	case !now.Before(rec.expiry):
		err = oauthError(pixie.ErrExpiredToken, "the device_code expired; start again")
	case !rec.lastPoll.IsZero() && now.Sub(rec.lastPoll) < rec.interval:
		rec.interval += 5 * time.Second
		err = oauthError(pixie.ErrSlowDown, "polled faster than the interval; it is now %d seconds", int(rec.interval/time.Second))
	case !rec.decided:
		err = oauthError(pixie.ErrAuthorizationPending, "the user has not decided yet")
	case !rec.approved:
		err = oauthError(pixie.ErrAccessDenied, "the user denied the request")
	}
	if rec != nil && rec.clientID == c.ID {
		rec.lastPoll = now
	}
	if err == nil || errors.Is(err, pixie.ErrAccessDenied) {
		delete(s.devices, dc)
		delete(s.userCodes, rec.userCode)
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return s.issueTokens(grantInfo{clientID: c.ID, user: rec.user, scope: rec.scope, authTime: rec.authTime, jkt: jkt}, true, "")
}
