package devserver

import (
	"crypto/rand"
	"errors"
	"fmt"
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
				s.renderDevice(w, r, code, err)
				return
			}
			render(w, http.StatusOK, "device", page{Title: "Device approved", Done: "The device is approved; return to it."})
			return
		}
		s.renderDevice(w, r, code, nil)
	case http.MethodPost:
		s.postDevice(w, r)
	default:
		methodNotAllowed(w, "GET, POST")
	}
}

// renderDevice shows the verification page with a fresh form and the message of
// err, if any: 429 for a user locked out by tooManyCodes, 400 for other errors.
func (s *Server) renderDevice(w http.ResponseWriter, r *http.Request, userCode string, err error) {
	csrf := randomString(16)
	now := s.now()
	s.mu.Lock()
	for k, exp := range s.formTokens {
		if !now.Before(exp) {
			delete(s.formTokens, k)
		}
	}
	s.formTokens[csrf] = now.Add(authRequestTTL)
	p := page{Title: "Connect a device", Action: pathDevice, CSRF: csrf, UserCode: userCode}
	// Name the client and its scopes for a known code, so the user sees what
	// asks for access before approving (RFC 8628 section 5.4).
	if rec := s.devices[s.userCodes[normalizeUserCode(userCode)]]; rec != nil && !rec.decided && now.Before(rec.expiry) {
		p.ClientName, p.Scope = s.clients[rec.clientID].displayName(), rec.scope
	}
	s.mu.Unlock()
	if sess := s.session(r); sess != nil {
		p.Username = sess.user.Username
	}
	status := http.StatusOK
	if err != nil {
		p.Error, status = err.Error(), http.StatusBadRequest
		if errors.As(err, new(tooManyCodes)) {
			status = http.StatusTooManyRequests
		}
	}
	render(w, status, "device", p)
}

func (s *Server) postDevice(w http.ResponseWriter, r *http.Request) {
	form, err := parseForm(w, r)
	if err != nil {
		errorPage(w, r, err.(*pixie.Error))
		return
	}
	now := s.now()
	s.mu.Lock()
	exp, ok := s.formTokens[form.Get("csrf_token")]
	delete(s.formTokens, form.Get("csrf_token"))
	s.mu.Unlock()
	code := form.Get("user_code")
	if !ok || !now.Before(exp) {
		s.renderDevice(w, r, code, deviceError("The form expired; submit it again."))
		return
	}
	var user *User
	if sess := s.session(r); sess != nil {
		user = sess.user
	} else if user = s.checkPassword(form.Get("username"), form.Get("password")); user == nil {
		s.renderDevice(w, r, code, deviceError("Wrong username or password."))
		return
	} else {
		s.startSession(w, user, now)
	}
	approve := form.Get("action") == "approve"
	if err := s.enterUserCode(code, user, approve); err != nil {
		s.renderDevice(w, r, code, err)
		return
	}
	done := "The device is approved; return to it."
	if !approve {
		done = "Access was denied; the device will be told."
	}
	render(w, http.StatusOK, "device", page{Title: "Connect a device", Done: done})
}

// Limits on guessing user codes on the verification page (RFC 8628 section 5.1).
const (
	maxCodeGuesses   = 5                // wrong codes a user may enter within codeGuessWindow
	codeGuessWindow  = 10 * time.Minute // counted from the first wrong code
	codeGuessLockout = 15 * time.Minute // how long the user is then refused
)

// codeGuesses counts one user's wrong user codes.
type codeGuesses struct {
	since       time.Time // the first wrong code of the window
	wrong       int
	lockedUntil time.Time
}

// enterUserCode is decideDevice for a user code typed on the verification page,
// limited against guessing (RFC 8628 section 5.1): maxCodeGuesses wrong codes
// within codeGuessWindow refuse the user every code, right ones included, for
// codeGuessLockout. The count is the signed-in user's, since every attempt
// needs one: a fresh form or cookie does not reset it, and other users are not
// affected. It has an entry per registered user at most. A right code clears it.
// The approval by URL of [Options.AutoApprove] is not limited: it approves
// every code for the first user, whoever opens it.
func (s *Server) enterUserCode(userCode string, user *User, approve bool) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.guesses[user.Subject]
	if g != nil && now.Before(g.lockedUntil) {
		return tooManyCodes{wait: g.lockedUntil.Sub(now)}
	}
	err := s.decideDeviceLocked(userCode, user, approve, now)
	if err == nil {
		delete(s.guesses, user.Subject)
		return nil
	}
	if g == nil || !g.lockedUntil.IsZero() || now.Sub(g.since) >= codeGuessWindow {
		g = &codeGuesses{since: now}
		s.guesses[user.Subject] = g
	}
	if g.wrong++; g.wrong >= maxCodeGuesses {
		g.lockedUntil = now.Add(codeGuessLockout)
		return tooManyCodes{wait: codeGuessLockout}
	}
	return err
}

// tooManyCodes refuses a user who entered too many wrong user codes.
type tooManyCodes struct{ wait time.Duration }

func (e tooManyCodes) Error() string {
	minutes := int((e.wait + time.Minute - 1) / time.Minute)
	unit := "minutes"
	if minutes == 1 {
		unit = "minute"
	}
	return fmt.Sprintf("Too many wrong codes were entered; wait %d %s, then try again.", minutes, unit)
}

// decideDevice records the user's decision on the device authorization with the
// given user code.
func (s *Server) decideDevice(userCode string, user *User, approve bool) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.decideDeviceLocked(userCode, user, approve, now)
}

// decideDeviceLocked is decideDevice with s.mu held.
func (s *Server) decideDeviceLocked(userCode string, user *User, approve bool, now time.Time) error {
	rec := s.devices[s.userCodes[normalizeUserCode(userCode)]]
	if rec == nil || rec.decided || !now.Before(rec.expiry) {
		return deviceError("Unknown, expired or already used code; check it and try again.")
	}
	rec.decided, rec.approved, rec.user, rec.authTime = true, approve, user, now
	return nil
}

// deviceError is a message for the verification page.
type deviceError string

func (e deviceError) Error() string { return string(e) }

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
