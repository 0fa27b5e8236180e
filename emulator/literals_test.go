package emulator_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenemu/tokenemu/emulator/vendors"
)

// The core names no vendor: every vendor is a package behind
// vendorapi.Vendor, listed once in package vendors. No string literal of
// the core (package emulator, and package scenarios, which the core
// validates with) holds a vendor's name, in any case.
func TestCoreNamesNoVendor(t *testing.T) {
	t.Parallel()
	names := vendors.Names()
	for _, dir := range []string{".", "../scenarios"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		checked := 0
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			checked++
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				for _, v := range names {
					if strings.Contains(strings.ToLower(lit.Value), v) {
						t.Errorf("%s: the string %s names the vendor %s", file, lit.Value, v)
					}
				}
				return true
			})
		}
		if checked == 0 {
			t.Fatalf("no Go file in %s: the test checks nothing", dir)
		}
	}
}
