package store

import (
	"strings"
	"testing"

	"github.com/google/uuid"
)

// parseCanonicalUUID agrees with parsing the UUID and writing it back.
func TestParseCanonicalUUID(t *testing.T) {
	t.Parallel()
	u := uuid.NewString()
	cases := []string{
		u, strings.ToUpper(u), "{" + u + "}", "urn:uuid:" + u, strings.ReplaceAll(u, "-", ""),
		u[:8] + u[9:13] + "-" + u[8:9] + u[13:], u[:35] + "g", u[:35], u + "0", "", "00000000-0000-0000-0000-000000000000",
		"ffffffff-ffff-ffff-ffff-ffffffffffff", "fffffff-ffff-ffff-ffff-ffffffffffff0", "-" + u[1:],
	}
	for i := range 1000 {
		b := []byte(u)
		b[i%36] = "0123456789abcdefABCDEF-x{}"[i%26]
		cases = append(cases, string(b))
	}
	for _, v := range cases {
		p, err := uuid.Parse(v)
		want := err == nil && p.String() == v
		got, ok := parseCanonicalUUID(v)
		if ok != want || ok && got != p {
			t.Errorf("parseCanonicalUUID(%q) = %x, %v; uuid.Parse gives %x, %v (canonical: %v)", v, got, ok, p, err, want)
		}
	}
}
