package scenarios

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"
)

//go:embed builtin/*.yaml
var builtinFiles embed.FS

// Builtins parses the embedded built-in scenarios, sorted by name. Each call
// returns fresh values.
func Builtins() ([]Scenario, error) {
	entries, err := fs.ReadDir(builtinFiles, "builtin")
	if err != nil {
		return nil, fmt.Errorf("built-in scenarios: %w", err)
	}
	var out []Scenario
	for _, e := range entries {
		b, err := builtinFiles.ReadFile("builtin/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("built-in scenario %s: %w", e.Name(), err)
		}
		list, err := Parse(b)
		if err != nil {
			return nil, fmt.Errorf("built-in scenario %s: %w", e.Name(), err)
		}
		if len(list) != 1 || list[0].Name+".yaml" != e.Name() {
			return nil, fmt.Errorf("built-in scenario %s: want one scenario named after its file", e.Name())
		}
		out = append(out, list[0])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// BuiltinSource returns the YAML text of a built-in scenario.
func BuiltinSource(name string) ([]byte, error) {
	if strings.ContainsAny(name, "/\\.") {
		return nil, fmt.Errorf("%w: %q", ErrUnknown, name)
	}
	b, err := builtinFiles.ReadFile("builtin/" + name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknown, name)
	}
	return b, nil
}

// Builtin returns the built-in scenario of that name. With vendor set, rules
// for every vendor ("*") are narrowed to it and rules for other vendors are
// dropped; a built-in left with no rule is an error.
func Builtin(name, vendor string) (Scenario, error) {
	list, err := Builtins()
	if err != nil {
		return Scenario{}, err
	}
	names := make([]string, 0, len(list))
	for _, s := range list {
		if s.Name == name {
			return narrow(s, vendor)
		}
		names = append(names, s.Name)
	}
	return Scenario{}, fmt.Errorf("%w: %q (built-ins: %s)", ErrUnknown, name, strings.Join(names, ", "))
}

func narrow(s Scenario, vendor string) (Scenario, error) {
	if vendor == "" {
		return s, nil
	}
	if !slices.Contains(vendorNames, vendor) {
		return Scenario{}, fmt.Errorf("unknown vendor %q: want one of %s", vendor, strings.Join(vendorNames, ", "))
	}
	out := Scenario{Name: s.Name, Description: s.Description + " (" + vendor + " only)"}
	for _, r := range s.Rules {
		switch r.Match.Vendor {
		case "*":
			r.Match.Vendor = vendor
		case vendor:
		default:
			continue
		}
		out.Rules = append(out.Rules, r)
	}
	if len(out.Rules) == 0 {
		return Scenario{}, fmt.Errorf("built-in %q has no rule for %s", s.Name, vendor)
	}
	return out, nil
}
