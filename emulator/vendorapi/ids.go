package vendorapi

import (
	"crypto/rand"

	"github.com/brianvoe/gofakeit/v7"
)

const base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// FakeBase62 returns n characters of base62 from a seeded faker: ids
// that are the same in every run with the same seed.
func FakeBase62(f *gofakeit.Faker, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = base62Alphabet[f.IntRange(0, len(base62Alphabet)-1)]
	}
	return string(b)
}

// RandomBase62 returns n characters from crypto/rand, without modulo bias.
func RandomBase62(n int) string {
	out := make([]byte, 0, n)
	var buf [64]byte
	for len(out) < n {
		_, _ = rand.Read(buf[:])
		for _, c := range buf {
			if c < 248 && len(out) < n { // 248 = 4 × 62: keeps the draw uniform
				out = append(out, base62Alphabet[c%62])
			}
		}
	}
	return string(out)
}

// NonNil returns s, or an empty slice for nil (a JSON [] rather than null).
func NonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
