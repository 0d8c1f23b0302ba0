package devserver

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/pixieauth/pixie"
)

// Server is the development authorization server, an http.Handler. Create it with
// [New]. Its methods are safe for concurrent use.
type Server struct {
	opts    Options
	issuer  string
	logger  *slog.Logger
	handler http.Handler
	keys    *keyring
	metrics *metrics
	state   *stateDB // nil without Options.StatePath
	// crossOrigin refuses the pages' forms posted from another origin.
	crossOrigin *http.CrossOriginProtection

	faultsMu sync.Mutex
	faults   Faults

	mu         sync.Mutex
	clients    map[string]*Client
	users      map[string]*User
	codes      map[string]*codeRecord
	access     map[string]*accessRecord
	refresh    map[string]*refreshRecord
	families   map[string]*family
	devices    map[string]*deviceRecord
	userCodes  map[string]string
	jtis       map[string]time.Time
	jtiPruneAt int // size of jtis at which expired entries are pruned next
	pars       map[string]*parRecord
	authReqs   map[string]*authRequest
	sessions   map[string]*session
	formTokens map[string]formToken   // the device page's csrf tokens
	guesses    map[string]*guessCount // wrong user codes and passwords; see codeGuessKey
	dpopNonce  string
	issued     int // codes and access tokens issued, for sweeping
}

// New returns a Server configured by opts. It fails when the issuer is not an
// absolute http(s) URL without query or fragment, or a client or user is invalid.
func New(opts Options) (*Server, error) {
	iss, err := checkIssuer(opts.Issuer)
	if err != nil {
		return nil, err
	}
	crossOrigin, err := newCrossOrigin(iss)
	if err != nil {
		return nil, err
	}
	opts.setDefaults()
	if opts.DeviceInterval%time.Second != 0 {
		return nil, fmt.Errorf("devserver: DeviceInterval %s is not a whole number of seconds", opts.DeviceInterval)
	}
	var state *stateDB
	var keys *keyring
	if opts.StatePath != "" {
		if state, err = openState(opts.StatePath); err != nil {
			return nil, err
		}
		if keys, err = state.loadKeys(); err != nil {
			state.db.Close()
			return nil, fmt.Errorf("devserver: state file %s: %w", opts.StatePath, err)
		}
	}
	if keys == nil {
		if keys, err = newKeyring(opts.SigningKeys); err != nil {
			if state != nil {
				state.db.Close()
			}
			return nil, err
		}
	}
	s := &Server{
		opts:        opts,
		issuer:      iss,
		logger:      opts.Logger,
		keys:        keys,
		state:       state,
		metrics:     newMetrics(),
		crossOrigin: crossOrigin,
		faults:      opts.Faults,
		clients:     map[string]*Client{},
		users:       map[string]*User{},
		codes:       map[string]*codeRecord{},
		access:      map[string]*accessRecord{},
		refresh:     map[string]*refreshRecord{},
		families:    map[string]*family{},
		devices:     map[string]*deviceRecord{},
		userCodes:   map[string]string{},
		jtis:        map[string]time.Time{},
		pars:        map[string]*parRecord{},
		authReqs:    map[string]*authRequest{},
		sessions:    map[string]*session{},
		formTokens:  map[string]formToken{},
		guesses:     map[string]*guessCount{},
		dpopNonce:   randomString(16),
	}
	if err := s.setup(); err != nil {
		s.Close()
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

// setup registers the configured clients and users, and restores the saved
// state.
func (s *Server) setup() error {
	if err := s.faults.validate(); err != nil {
		return err
	}
	for _, c := range s.opts.Clients {
		if err := s.AddClient(c); err != nil {
			return err
		}
	}
	for _, u := range s.opts.Users {
		if u.Username == "" || u.Password.IsZero() {
			return errors.New("devserver: a user needs a username and a password")
		}
		if _, dup := s.users[u.Username]; dup {
			return fmt.Errorf("devserver: user %s is registered twice", u.Username)
		}
		if u.Subject == "" {
			u.Subject = u.Username
		}
		s.users[u.Username] = &u
	}
	if s.state == nil {
		return nil
	}
	saved, err := s.state.clients()
	if err != nil {
		return fmt.Errorf("devserver: state file: %w", err)
	}
	for _, c := range saved {
		if _, ok := s.clients[c.ID]; !ok {
			if err := s.AddClient(c); err != nil {
				return fmt.Errorf("devserver: state file: %w", err)
			}
		}
	}
	if err := s.state.loadTokens(s, s.now()); err != nil {
		return fmt.Errorf("devserver: state file: %w", err)
	}
	return s.persist(func(d *stateDB) error { return d.saveKeys(s.keys) })
}

func checkIssuer(raw string) (string, error) {
	if raw == "" {
		return "", errors.New("devserver: Options.Issuer is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("devserver: issuer: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("devserver: issuer %s must be an http or https URL without user info, query or fragment (RFC 8414 section 2)", raw)
	}
	return strings.TrimSuffix(raw, "/"), nil
}

// newCrossOrigin returns the cross-origin check of the pages' forms, which
// trusts the issuer's origin besides the request's Host, for a server behind a
// proxy that rewrites Host.
func newCrossOrigin(issuer string) (*http.CrossOriginProtection, error) {
	u, err := url.Parse(issuer) // checked by checkIssuer
	if err != nil {
		return nil, err
	}
	c := http.NewCrossOriginProtection()
	if err := c.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
		return nil, fmt.Errorf("devserver: issuer %s: %w", issuer, err)
	}
	return c, nil
}

// Issuer returns the issuer identifier.
func (s *Server) Issuer() string { return s.issuer }

// ServeHTTP serves the server's endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// url returns the absolute URL of an endpoint path.
func (s *Server) url(path string) string { return s.issuer + path }

// now is the server's clock, including the injected clock offset.
func (s *Server) now() time.Time {
	return s.opts.Now().Add(s.Faults().ClockOffset)
}

// firstUser is the user that AutoApprove authorizes as.
func (s *Server) firstUser() *User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users[s.opts.Users[0].Username]
}

// randomString returns n random bytes, base64url encoded.
func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// oauthError returns an RFC 6749 section 5.2 error with code's Code, the HTTP status
// the RFCs assign to it, and a description. Descriptions must stay within the
// characters RFC 6749 allows: no double quote and no backslash.
func oauthError(code *pixie.Error, format string, args ...any) *pixie.Error {
	status := http.StatusBadRequest
	switch code {
	case pixie.ErrInvalidClient, pixie.ErrInvalidToken:
		status = http.StatusUnauthorized
	case pixie.ErrInsufficientScope:
		status = http.StatusForbidden
	case pixie.ErrServerError:
		status = http.StatusInternalServerError
	case pixie.ErrTemporarilyUnavailable:
		status = http.StatusServiceUnavailable
	}
	desc := strings.NewReplacer(`"`, "'", `\`, "/").Replace(fmt.Sprintf(format, args...))
	return &pixie.Error{Code: code.Code, Description: desc, StatusCode: status}
}
