package scenarios

import (
	"embed"
	"fmt"
	"io/fs"
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
