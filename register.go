package pixie

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/pixieauth/pixie/internal/wire"
)

// ClientMetadata is a client's metadata (RFC 7591 section 2): what a client
// registers dynamically, and what a client ID metadata document holds.
type ClientMetadata struct {
	// ClientID is set in a client ID metadata document (its URL) and in a
	// server's answers; a registration request leaves it empty.
	ClientID                string          `json:"client_id,omitempty"`
	RedirectURIs            []string        `json:"redirect_uris,omitempty"`
	TokenEndpointAuthMethod AuthMethod      `json:"token_endpoint_auth_method,omitempty"`
	GrantTypes              []string        `json:"grant_types,omitempty"`
	ResponseTypes           []string        `json:"response_types,omitempty"`
	ClientName              string          `json:"client_name,omitempty"`
	ClientURI               string          `json:"client_uri,omitempty"`
	LogoURI                 string          `json:"logo_uri,omitempty"`
	Scope                   string          `json:"scope,omitempty"` // space-separated
	Contacts                []string        `json:"contacts,omitempty"`
	TOSURI                  string          `json:"tos_uri,omitempty"`
	PolicyURI               string          `json:"policy_uri,omitempty"`
	JWKSURI                 string          `json:"jwks_uri,omitempty"`
	JWKS                    json.RawMessage `json:"jwks,omitempty"`
	SoftwareID              string          `json:"software_id,omitempty"`
	SoftwareVersion         string          `json:"software_version,omitempty"`
	SoftwareStatement       string          `json:"software_statement,omitempty"` // RFC 7591 section 2.3
}

// Registration is a client registered dynamically (RFC 7591 section 3.2.1): its
// credentials, when they expire, and how to manage it (RFC 7592). It prints and
// logs without its secrets.
type Registration struct {
	// Issuer is the authorization server the client is registered with.
	Issuer string
	// ClientID and ClientSecret are the issued credentials; a public client
	// has no secret.
	ClientID     string
	ClientSecret Secret
	// IssuedAt is client_id_issued_at; zero when the server gave none.
	IssuedAt time.Time
	// SecretExpiresAt is client_secret_expires_at; zero means the secret does
	// not expire.
	SecretExpiresAt time.Time
	// RegistrationAccessToken and RegistrationClientURI manage the client
	// (RFC 7592): both are set when the server supports it.
	RegistrationAccessToken Secret
	RegistrationClientURI   string
	// Metadata is the client metadata the server registered, which may differ
	// from what was asked (RFC 7591 section 3.2.1).
	Metadata ClientMetadata
}

// Expired reports whether the registration's client secret has expired at now
// (RFC 7591 section 3.2.1: client_secret_expires_at): the client must then be
// registered again, or read anew through RFC 7592.
func (r *Registration) Expired(now time.Time) bool {
	return !r.SecretExpiresAt.IsZero() && !now.Before(r.SecretExpiresAt)
}

// manageable reports whether RFC 7592 management is possible.
func (r *Registration) manageable() error {
	if r.RegistrationClientURI == "" || r.RegistrationAccessToken.IsZero() {
		return errors.New("pixie: the server returned no registration_client_uri and registration_access_token for this client: it does not support RFC 7592 management")
	}
	return nil
}

// Registrar registers clients dynamically (RFC 7591) and manages them (RFC
// 7592). The zero value is ready to use; a Registrar is safe for concurrent use.
type Registrar struct {
	// HTTPClient sends the requests. When nil, a client with a 30 second timeout
	// over http.DefaultTransport is used.
	HTTPClient *http.Client
	// InitialAccessToken, when the server requires one (RFC 7591 section 3),
	// is sent as a bearer token with registration requests.
	InitialAccessToken Secret
	// AllowInsecureHTTP permits http:// endpoints on hosts other than loopback.
	AllowInsecureHTTP bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives one debug record per request, without secrets; nil
	// discards them.
	Logger *slog.Logger
}

// Register registers a client with the server m describes, using a zero
// [Registrar].
func Register(ctx context.Context, m *Metadata, cm ClientMetadata) (*Registration, error) {
	return (&Registrar{}).Register(ctx, m, cm)
}

const opRegistration = "registration"

// Register sends cm to the server's registration_endpoint (RFC 7591 section
// 3.1) and returns the registered client. A refusal (RFC 7591 section 3.2.2,
// such as invalid_redirect_uri or invalid_client_metadata, or 401 for a missing
// initial access token) is an *Error with Op "registration". The request is
// sent once: a retry could register two clients.
func (g *Registrar) Register(ctx context.Context, m *Metadata, cm ClientMetadata) (*Registration, error) {
	if m == nil || m.RegistrationEndpoint == "" {
		return nil, &Error{Op: opRegistration, Err: errors.New("the authorization server offers no dynamic client registration (its metadata has no registration_endpoint); use a client ID registered with it")}
	}
	cm.ClientID = ""
	body, err := json.Marshal(cm)
	if err != nil {
		return nil, &Error{Op: opRegistration, Err: err}
	}
	return g.exchange(ctx, m.Issuer, nil, &wire.Request{Method: http.MethodPost, URL: m.RegistrationEndpoint, JSON: body, OneShot: true}, g.InitialAccessToken)
}

// Read fetches the client's current registration (RFC 7592 section 2.1); the
// server may have rotated its secret or registration access token.
func (g *Registrar) Read(ctx context.Context, r *Registration) (*Registration, error) {
	if err := r.manageable(); err != nil {
		return nil, err
	}
	return g.exchange(ctx, r.Issuer, r, &wire.Request{Method: http.MethodGet, URL: r.RegistrationClientURI}, r.RegistrationAccessToken)
}

// Update replaces the client's metadata with cm (RFC 7592 section 2.2): every
// field the client wants kept must be in cm.
func (g *Registrar) Update(ctx context.Context, r *Registration, cm ClientMetadata) (*Registration, error) {
	if err := r.manageable(); err != nil {
		return nil, err
	}
	cm.ClientID = r.ClientID // section 2.2: the request must carry the client_id
	body, err := json.Marshal(cm)
	if err != nil {
		return nil, &Error{Op: opRegistration, Err: err}
	}
	return g.exchange(ctx, r.Issuer, r, &wire.Request{Method: http.MethodPut, URL: r.RegistrationClientURI, JSON: body}, r.RegistrationAccessToken)
}

// Delete deregisters the client (RFC 7592 section 2.3). Its credentials stop
// working.
func (g *Registrar) Delete(ctx context.Context, r *Registration) error {
	if err := r.manageable(); err != nil {
		return err
	}
	_, err := g.send(ctx, &wire.Request{Method: http.MethodDelete, URL: r.RegistrationClientURI}, r.RegistrationAccessToken)
	return err
}

// send sends one registration or management request with bearer as its
// token.
func (g *Registrar) send(ctx context.Context, req *wire.Request, bearer Secret) (*wire.Response, error) {
	req.Op = opRegistration
	req.Header = http.Header{}
	if !bearer.IsZero() {
		req.Header.Set("Authorization", "Bearer "+bearer.Reveal())
	}
	c := &wire.Client{HTTP: g.HTTPClient, AllowInsecure: g.AllowInsecureHTTP, Now: g.Now, Logger: g.Logger}
	resp, err := c.Post(ctx, req)
	return resp, fromWire(err)
}

// exchange sends req and decodes the registration in the answer (RFC 7591
// section 3.2.1). prev is the registration read or updated, whose registration
// access token is kept when the answer has none.
func (g *Registrar) exchange(ctx context.Context, issuer string, prev *Registration, req *wire.Request, bearer Secret) (*Registration, error) {
	resp, err := g.send(ctx, req, bearer)
	if err != nil {
		return nil, err
	}
	r, err := decodeRegistration(resp.Body)
	if err != nil {
		return nil, &Error{Op: opRegistration, StatusCode: resp.StatusCode, Err: err}
	}
	r.Issuer = issuer
	if prev != nil {
		if r.ClientID != prev.ClientID {
			return nil, &Error{Op: opRegistration, StatusCode: resp.StatusCode, Err: fmt.Errorf("the server answered for client %q, not %q", r.ClientID, prev.ClientID)}
		}
		if r.RegistrationAccessToken.IsZero() {
			r.RegistrationAccessToken = prev.RegistrationAccessToken
		}
		if r.RegistrationClientURI == "" {
			r.RegistrationClientURI = prev.RegistrationClientURI
		}
	}
	return r, nil
}

// registrationDoc is the JSON form of a registration: the server's answer (RFC
// 7591 section 3.2.1), and the record a [RegistrationStore] keeps.
type registrationDoc struct {
	ClientMetadata
	Issuer                  string `json:"pixie_issuer,omitempty"` // only in stored records
	ClientSecret            string `json:"client_secret,omitempty"`
	ClientIDIssuedAt        int64  `json:"client_id_issued_at,omitempty"`
	ClientSecretExpiresAt   int64  `json:"client_secret_expires_at,omitempty"`
	RegistrationAccessToken string `json:"registration_access_token,omitempty"`
	RegistrationClientURI   string `json:"registration_client_uri,omitempty"`
}

func decodeRegistration(b []byte) (*Registration, error) {
	var d registrationDoc
	var raw map[string]any
	if err := decodeDocument(b, "client registration", &d, &raw); err != nil {
		return nil, err
	}
	if d.ClientID == "" {
		return nil, errors.New(`the registration response has no "client_id" (RFC 7591 section 3.2.1 requires it)`)
	}
	if d.RegistrationClientURI != "" {
		if err := wire.CheckURL(d.RegistrationClientURI, true); err != nil {
			return nil, fmt.Errorf("registration_client_uri: %w", err)
		}
	}
	r := &Registration{
		Issuer:                  d.Issuer,
		ClientID:                d.ClientID,
		ClientSecret:            NewSecret(d.ClientSecret),
		RegistrationAccessToken: NewSecret(d.RegistrationAccessToken),
		RegistrationClientURI:   d.RegistrationClientURI,
		Metadata:                d.ClientMetadata,
	}
	if d.ClientIDIssuedAt > 0 {
		r.IssuedAt = time.Unix(d.ClientIDIssuedAt, 0)
	}
	if d.ClientSecretExpiresAt > 0 { // 0 means it does not expire
		r.SecretExpiresAt = time.Unix(d.ClientSecretExpiresAt, 0)
	}
	return r, nil
}

// encode returns the registration with its secrets in the clear, for a store
// that seals it.
func (r *Registration) encode() ([]byte, error) {
	d := registrationDoc{
		ClientMetadata:          r.Metadata,
		Issuer:                  r.Issuer,
		ClientSecret:            r.ClientSecret.Reveal(),
		RegistrationAccessToken: r.RegistrationAccessToken.Reveal(),
		RegistrationClientURI:   r.RegistrationClientURI,
	}
	d.ClientID = r.ClientID
	if !r.IssuedAt.IsZero() {
		d.ClientIDIssuedAt = r.IssuedAt.Unix()
	}
	if !r.SecretExpiresAt.IsZero() {
		d.ClientSecretExpiresAt = r.SecretExpiresAt.Unix()
	}
	return json.Marshal(d)
}

// RegistrationStore keeps dynamic registrations, so that a client registers
// once with a server rather than on every run. [ForResource] keys them by the
// server's issuer. Implementations must be safe for concurrent use, and should
// seal the secrets they persist.
type RegistrationStore interface {
	// LoadRegistration returns the registration stored under key, or an error
	// for which errors.Is(err, ErrNotFound) is true.
	LoadRegistration(ctx context.Context, key string) (*Registration, error)
	// SaveRegistration stores r under key, replacing what is there.
	SaveRegistration(ctx context.Context, key string, r *Registration) error
	// DeleteRegistration removes key; an absent key is not an error.
	DeleteRegistration(ctx context.Context, key string) error
}

// StoreRegistrations returns a [RegistrationStore] that keeps each
// registration in st as one record under "registration " followed by the key.
// The record is a [Token] whose access token holds the whole registration, so
// a sealing Store (sqlitestore, redisstore) seals the client secret and the
// registration access token as it seals tokens. Its expiry is the secret's.
func StoreRegistrations(st Store) RegistrationStore { return storeRegistrations{st} }

type storeRegistrations struct{ st Store }

// registrationTokenType marks a Store record that holds a registration.
const registrationTokenType = "pixie-client-registration"

func registrationKey(key string) string { return "registration " + key }

func (s storeRegistrations) LoadRegistration(ctx context.Context, key string) (*Registration, error) {
	tok, _, err := s.st.Load(ctx, registrationKey(key))
	if err != nil {
		return nil, err
	}
	if tok.TokenType != registrationTokenType {
		return nil, fmt.Errorf("pixie: store record %q holds a token, not a client registration", registrationKey(key))
	}
	r, err := decodeRegistration([]byte(tok.AccessToken.Reveal()))
	if err != nil {
		return nil, fmt.Errorf("pixie: store record %q: %w", registrationKey(key), err)
	}
	return r, nil
}

func (s storeRegistrations) SaveRegistration(ctx context.Context, key string, r *Registration) error {
	b, err := r.encode()
	if err != nil {
		return fmt.Errorf("pixie: encoding the registration: %w", err)
	}
	tok := &Token{AccessToken: NewSecret(string(b)), TokenType: registrationTokenType, Expiry: r.SecretExpiresAt}
	k := registrationKey(key)
	// Replace whatever is stored: a concurrent save of another registration
	// for the same server is as good as this one.
	for range 3 {
		_, ver, err := s.st.Load(ctx, k)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if _, err = s.st.Save(ctx, k, tok, ver); !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("pixie: saving the registration: %w", ErrConflict)
}

func (s storeRegistrations) DeleteRegistration(ctx context.Context, key string) error {
	return s.st.Delete(ctx, registrationKey(key))
}

// fits reports whether the registration can serve a login with redirectURL:
// it is for issuer, not expired, and registered that redirect URI.
func (r *Registration) fits(issuer, redirectURL string, now time.Time) bool {
	return r.Issuer == issuer && !r.Expired(now) &&
		(len(r.Metadata.RedirectURIs) == 0 || slices.Contains(r.Metadata.RedirectURIs, redirectURL))
}
