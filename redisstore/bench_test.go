package redisstore_test

import (
	"testing"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/storetest"
)

// BenchmarkLoad measures Load of a typical token (access, refresh and ID tokens
// of JWT size) from the test Redis over loopback: one round trip, opening the
// sealed record and decoding it.
func BenchmarkLoad(b *testing.B) {
	f := newFleet(b)
	s := f.replica(b)
	jwt := func(c byte) pixie.Secret {
		buf := make([]byte, 900)
		for i := range buf {
			buf[i] = c + byte(i%26)
		}
		return pixie.NewSecret(string(buf))
	}
	tok := &pixie.Token{
		AccessToken:  jwt('a'),
		TokenType:    "Bearer",
		RefreshToken: jwt('A'),
		IDToken:      jwt('a'),
		Expiry:       time.Now().Add(time.Hour),
		Scope:        []string{"openid", "profile", "email", "offline_access"},
	}
	storetest.MustSave(b, s, "bench", tok, 0)
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := s.Load(b.Context(), "bench"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := s.Load(b.Context(), "bench"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
