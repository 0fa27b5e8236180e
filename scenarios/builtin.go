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
	names, err := builtinNames()
	if err != nil {
		return nil, err
	}
	out := make([]Scenario, 0, len(names))
	for _, name := range names {
		s, err := parseBuiltin(name)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// builtinNames lists the built-ins by the names of their files, sorted.
func builtinNames() ([]string, error) {
	entries, err := fs.ReadDir(builtinFiles, "builtin")
	if err != nil {
		return nil, fmt.Errorf("built-in scenarios: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// parseBuiltin parses one built-in, which must hold one scenario named after
// its file.
func parseBuiltin(name string) (Scenario, error) {
	b, err := BuiltinSource(name)
	if err != nil {
		return Scenario{}, err
	}
	list, err := Parse(b)
	if err != nil {
		return Scenario{}, fmt.Errorf("built-in scenario %s: %w", name, err)
	}
	if len(list) != 1 || list[0].Name != name {
		return Scenario{}, fmt.Errorf("built-in scenario %s: want one scenario named after its file", name)
	}
	return list[0], nil
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
	names, err := builtinNames()
	if err != nil {
		return Scenario{}, err
	}
	if !slices.Contains(names, name) {
		return Scenario{}, unknownBuiltin(name, names)
	}
	s, err := parseBuiltin(name)
	if err != nil {
		return Scenario{}, err
	}
	return narrow(s, vendor)
}

// unknownBuiltin is the error for a built-in name that is none of names.
func unknownBuiltin(name string, names []string) error {
	return fmt.Errorf("%w: %q (built-ins: %s)", ErrUnknown, name, strings.Join(names, ", "))
}

func narrow(s Scenario, vendor string) (Scenario, error) {
	if vendor == "" {
		return s, nil
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
