// Package sessionseal holds what the session stores (web/sqlitesession,
// web/redissession) share to seal a session with AES-256-GCM.
package sessionseal

// AssociatedData binds a sealed session to its session key and subject, in the
// domain of one store (for example "pixie sqlitesession v1"), so a sealed blob
// copied to another session, another subject or another store does not open
// (RFC 5116, section 2.1: associated data is authenticated, not encrypted).
// The domain and the key have a fixed form with no NUL, so the subject is the
// unambiguous remainder.
func AssociatedData(domain, key, subject string) []byte {
	ad := make([]byte, 0, len(domain)+len(key)+len(subject)+2)
	ad = append(ad, domain...)
	ad = append(ad, 0)
	ad = append(ad, key...)
	ad = append(ad, 0)
	return append(ad, subject...)
}
