package devserver

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/pixieauth/pixie"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// stateDB keeps the server's lasting state in a SQLite file: clients, access and
// refresh tokens (under their SHA-256 digests), token families and signing keys.
// Codes, device codes, sessions and pushed requests live minutes and stay in
// memory. Writes go through as the state changes, under the server's lock.
type stateDB struct {
	db *sql.DB
}

const stateSchema = `
CREATE TABLE IF NOT EXISTS clients (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (key TEXT PRIMARY KEY, expiry INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS families (id TEXT PRIMARY KEY, revoked INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS keys (kid TEXT PRIMARY KEY, data TEXT NOT NULL, retired_at INTEGER NOT NULL);
`

// openState opens or creates the database at path, readable by its owner only:
// it holds client secrets and private keys.
func openState(path string) (*stateDB, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("devserver: state file: %w", err)
	}
	f.Close()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		return nil, fmt.Errorf("devserver: state file: %w", err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(stateSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("devserver: state file %s: %w", path, err)
	}
	return &stateDB{db: db}, nil
}

// storedClient is a client as saved, secret included.
type storedClient struct {
	ID           string             `json:"id"`
	Secret       string             `json:"secret,omitempty"`
	AuthMethod   string             `json:"auth_method"`
	RedirectURIs []string           `json:"redirect_uris,omitempty"`
	GrantTypes   []string           `json:"grant_types,omitempty"`
	Scopes       []string           `json:"scopes,omitempty"`
	Keys         jose.JSONWebKeySet `json:"keys"`
	Name         string             `json:"name,omitempty"`
	// SecretExpiresAt and RegistrationToken are those of a dynamically
	// registered client (RFC 7591, RFC 7592).
	SecretExpiresAt   time.Time `json:"secret_expires_at,omitzero"`
	RegistrationToken string    `json:"registration_token,omitempty"`
}

func (d *stateDB) putClient(c *Client) error {
	b, err := json.Marshal(storedClient{c.ID, c.Secret.Reveal(), string(c.AuthMethod), c.RedirectURIs, c.GrantTypes, c.Scopes, c.Keys, c.Name,
		c.SecretExpiresAt, c.registrationToken})
	if err != nil {
		return err
	}
	_, err = d.db.Exec(`INSERT OR REPLACE INTO clients (id, data) VALUES (?, ?)`, c.ID, string(b))
	return err
}

func (d *stateDB) clients() ([]Client, error) {
	rows, err := d.db.Query(`SELECT data FROM clients`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Client
	for rows.Next() {
		var data string
		var sc storedClient
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(data), &sc); err != nil {
			return nil, fmt.Errorf("stored client: %w", err)
		}
		out = append(out, Client{ID: sc.ID, Secret: pixie.NewSecret(sc.Secret), AuthMethod: pixie.AuthMethod(sc.AuthMethod),
			RedirectURIs: sc.RedirectURIs, GrantTypes: sc.GrantTypes, Scopes: sc.Scopes, Keys: sc.Keys, Name: sc.Name,
			SecretExpiresAt: sc.SecretExpiresAt, registrationToken: sc.RegistrationToken})
	}
	return out, rows.Err()
}

func (d *stateDB) deleteClient(id string) error {
	_, err := d.db.Exec(`DELETE FROM clients WHERE id = ?`, id)
	return err
}

// storedToken is an access or refresh token record as saved.
type storedToken struct {
	Refresh  bool           `json:"refresh,omitempty"`
	ClientID string         `json:"client_id"`
	Username string         `json:"username,omitempty"`
	Subject  string         `json:"sub"`
	Scope    []string       `json:"scope,omitempty"`
	Audience []string       `json:"aud,omitempty"`
	AuthTime time.Time      `json:"auth_time"`
	JKT      string         `json:"jkt,omitempty"`
	Family   string         `json:"family"`
	Act      map[string]any `json:"act,omitempty"`
	ID       string         `json:"jti,omitempty"`
	IssuedAt time.Time      `json:"iat"`
	Expiry   time.Time      `json:"exp"`
	Rotated  bool           `json:"rotated,omitempty"`
	Revoked  bool           `json:"revoked,omitempty"`
	BoundJKT string         `json:"bound_jkt,omitempty"`
}

func storedGrant(g grantInfo) storedToken {
	st := storedToken{ClientID: g.clientID, Subject: g.subject, Scope: g.scope, Audience: g.audience,
		AuthTime: g.authTime, JKT: g.jkt, Family: g.family, Act: g.act}
	if g.user != nil {
		st.Username = g.user.Username
	}
	return st
}

func (d *stateDB) putToken(key string, st storedToken) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	_, err = d.db.Exec(`INSERT OR REPLACE INTO tokens (key, expiry, data) VALUES (?, ?, ?)`, key, st.Expiry.Unix(), string(b))
	return err
}

func (d *stateDB) putAccess(key string, r *accessRecord) error {
	st := storedGrant(r.grantInfo)
	st.ID, st.IssuedAt, st.Expiry, st.Revoked = r.id, r.issuedAt, r.expiry, r.revoked
	return d.putToken(key, st)
}

func (d *stateDB) putRefresh(key string, r *refreshRecord) error {
	st := storedGrant(r.grantInfo)
	st.Refresh, st.IssuedAt, st.Expiry, st.Rotated, st.Revoked, st.BoundJKT = true, r.issuedAt, r.expiry, r.rotated, r.revoked, r.boundJKT
	return d.putToken(key, st)
}

func (d *stateDB) putFamily(id string, f *family) error {
	_, err := d.db.Exec(`INSERT OR REPLACE INTO families (id, revoked) VALUES (?, ?)`, id, f.revoked)
	return err
}

// sweep deletes the tokens expired at now and the families no saved token
// belongs to.
func (d *stateDB) sweep(now time.Time) error {
	if _, err := d.db.Exec(`DELETE FROM tokens WHERE expiry <= ?`, now.Unix()); err != nil {
		return err
	}
	_, err := d.db.Exec(`DELETE FROM families WHERE id NOT IN (SELECT json_extract(data, '$.family') FROM tokens)`)
	return err
}

// loadTokens fills the server's token and family maps, dropping tokens expired
// at now and families without tokens. users resolves the usernames of saved
// grants.
func (d *stateDB) loadTokens(s *Server, now time.Time) error {
	if err := d.sweep(now); err != nil {
		return err
	}
	rows, err := d.db.Query(`SELECT key, data FROM tokens`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var key, data string
		var st storedToken
		if err := rows.Scan(&key, &data); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(data), &st); err != nil {
			return fmt.Errorf("stored token: %w", err)
		}
		g := grantInfo{clientID: st.ClientID, user: s.users[st.Username], subject: st.Subject, scope: st.Scope,
			audience: st.Audience, authTime: st.AuthTime, jkt: st.JKT, family: st.Family, act: st.Act}
		if st.Refresh {
			s.refresh[key] = &refreshRecord{grantInfo: g, issuedAt: st.IssuedAt, expiry: st.Expiry,
				rotated: st.Rotated, revoked: st.Revoked, boundJKT: st.BoundJKT}
		} else {
			s.access[key] = &accessRecord{grantInfo: g, id: st.ID, issuedAt: st.IssuedAt, expiry: st.Expiry, revoked: st.Revoked}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	frows, err := d.db.Query(`SELECT id, revoked FROM families`)
	if err != nil {
		return err
	}
	defer frows.Close()
	for frows.Next() {
		var id string
		var revoked bool
		if err := frows.Scan(&id, &revoked); err != nil {
			return err
		}
		s.families[id] = &family{revoked: revoked}
	}
	return frows.Err()
}

// saveKeys replaces the saved signing keys with the keyring's.
func (d *stateDB) saveKeys(k *keyring) error {
	k.mu.Lock()
	type row struct {
		key jose.JSONWebKey
		at  int64
	}
	var rows []row
	for _, a := range k.active {
		rows = append(rows, row{a, 0})
	}
	for _, r := range k.retired {
		rows = append(rows, row{r.key, r.at.UnixNano()})
	}
	k.mu.Unlock()
	tx, err := d.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`DELETE FROM keys`); err != nil {
		return err
	}
	for _, r := range rows {
		b, err := r.key.MarshalJSON()
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`INSERT INTO keys (kid, data, retired_at) VALUES (?, ?, ?)`, r.key.KeyID, string(b), r.at); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// loadKeys returns the saved keyring, or nil when no keys are saved.
func (d *stateDB) loadKeys() (*keyring, error) {
	rows, err := d.db.Query(`SELECT data, retired_at FROM keys`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	k := &keyring{}
	for rows.Next() {
		var data string
		var at int64
		if err := rows.Scan(&data, &at); err != nil {
			return nil, err
		}
		var key jose.JSONWebKey
		if err := key.UnmarshalJSON([]byte(data)); err != nil {
			return nil, fmt.Errorf("stored key: %w", err)
		}
		if at == 0 {
			k.active = append(k.active, key)
		} else {
			k.retired = append(k.retired, retiredKey{key: key, at: time.Unix(0, at)})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(k.active) == 0 {
		return nil, nil
	}
	if err := checkKeys(k.active); err != nil {
		return nil, err
	}
	return k, nil
}

// persist runs f against the state database, if the server has one.
func (s *Server) persist(f func(*stateDB) error) error {
	if s.state == nil {
		return nil
	}
	if err := f(s.state); err != nil {
		return fmt.Errorf("devserver: saving state: %w", err)
	}
	return nil
}

// persistOrLog is persist for changes already made in memory: a failure is
// logged, not returned.
func (s *Server) persistOrLog(f func(*stateDB) error) {
	if err := s.persist(f); err != nil {
		s.logger.Error(err.Error())
	}
}

// Close closes the state database, if any. The server must not serve requests
// afterwards.
func (s *Server) Close() error {
	if s.state == nil {
		return nil
	}
	return s.state.db.Close()
}
