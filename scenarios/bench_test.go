package scenarios_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/scenarios"
)

// BenchmarkEvaluate measures scenario matching per request with 0 and 50
// active rules (none of which matches, the common case: every rule is checked).
func BenchmarkEvaluate(b *testing.B) {
	for _, n := range []int{0, scenarios.MaxActiveRules} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			cat, err := catalog()
			if err != nil {
				b.Fatal(err)
			}
			e, err := scenarios.NewEngine(cat, 1)
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			if n > 0 {
				var doc strings.Builder
				doc.WriteString("name: many\nrules:\n")
				for i := range n {
					fmt.Fprintf(&doc, "  - match: {vendor: brass, operation: login, header: {X-Run: \"%d\"}}\n    action: {status: 500}\n", i)
				}
				list, err := scenarios.Parse([]byte(doc.String()))
				if err != nil {
					b.Fatal(err)
				}
				if err := e.Apply(list[0], now, false); err != nil {
					b.Fatal(err)
				}
			}
			req := &scenarios.Request{Vendor: "brass", Operation: "login", Method: "POST", Path: "/brass/auth/login",
				Header: http.Header{"X-Run": {"none"}}}
			b.ReportAllocs()
			for b.Loop() {
				if len(e.Evaluate(req, now)) != 0 {
					b.Fatal("fired")
				}
			}
		})
	}
}
