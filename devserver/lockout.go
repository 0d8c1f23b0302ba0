package devserver

import (
	"fmt"
	"time"
)

// Limits on guessing on the pages, alike for user codes (RFC 8628 section 5.1)
// and passwords: maxGuesses wrong answers within guessWindow refuse every
// answer, right ones included, for guessLockout, so a locked-out guesser learns
// nothing more.
const (
	maxGuesses   = 5                // wrong answers allowed within guessWindow
	guessWindow  = 10 * time.Minute // counted from the first wrong answer
	guessLockout = 15 * time.Minute // how long the guesser is then refused
)

// guessCount counts the wrong answers under one key.
type guessCount struct {
	since       time.Time // the first wrong answer of the window
	wrong       int
	lockedUntil time.Time
}

// Keys of Server.guesses. Wrong user codes count against the signed-in user
// who entered them (every attempt needs one). Wrong passwords count against
// the user name tried, and only for registered users: a name nobody has has
// no password to guess, and counting every name would let anyone grow the map.
// Nothing counts per client address: on loopback every browser, test and tool
// shares 127.0.0.1, so one of them could lock all users out.
func codeGuessKey(u *User) string         { return "code\x00" + u.Subject }
func passwordGuessKey(name string) string { return "password\x00" + name }

// lockedOutLocked returns the tooManyGuesses error for key while it is locked
// out at now, or nil. s.mu must be held.
func (s *Server) lockedOutLocked(key, what string, now time.Time) error {
	if g := s.guesses[key]; g != nil && now.Before(g.lockedUntil) {
		return tooManyGuesses{what: what, wait: g.lockedUntil.Sub(now)}
	}
	return nil
}

// missLocked counts a wrong answer under key at now and returns tooManyGuesses
// if it starts a lockout, or nil. s.mu must be held.
func (s *Server) missLocked(key, what string, now time.Time) error {
	g := s.guesses[key]
	if g == nil || !g.lockedUntil.IsZero() || now.Sub(g.since) >= guessWindow {
		g = &guessCount{since: now}
		s.guesses[key] = g
	}
	if g.wrong++; g.wrong >= maxGuesses {
		g.lockedUntil = now.Add(guessLockout)
		return tooManyGuesses{what: what, wait: guessLockout}
	}
	return nil
}

// What tooManyGuesses says was guessed.
const (
	guessedCodes     = "Too many wrong codes were entered"
	guessedPasswords = "Too many wrong passwords were entered for this user"
)

// tooManyGuesses refuses a guesser locked out by missLocked.
type tooManyGuesses struct {
	what string // guessedCodes or guessedPasswords
	wait time.Duration
}

func (e tooManyGuesses) Error() string {
	minutes := int((e.wait + time.Minute - 1) / time.Minute)
	unit := "minutes"
	if minutes == 1 {
		unit = "minute"
	}
	return fmt.Sprintf("%s; wait %d %s, then try again.", e.what, minutes, unit)
}
