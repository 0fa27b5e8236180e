package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/tokenemu/tokenemu/emulator/vendorapi"
	"github.com/tokenemu/tokenemu/emulator/vendors"
)

// Fixtures are the users, clients and accounts each vendor serves, by vendor
// name. A value is that vendor's own fixtures (its package's Fixtures type)
// or what a fixtures file holds for it; a vendor left out keeps its defaults.
type Fixtures map[string]any

// ParseFixtures reads a fixtures file's YAML or JSON: an object with one key
// per vendor. Each vendor's section is checked when an emulator is built
// with it (Config.Validate); a vendor no emulator has is an error there.
func ParseFixtures(data []byte) (Fixtures, error) {
	var sections map[string]yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&sections); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parse fixtures: %w", err)
	}
	f := Fixtures{}
	for name, node := range sections {
		f[name] = &node
	}
	return f, nil
}

// YAML writes f as a fixtures file (YAML, which -fixtures reads).
func (f Fixtures) YAML() ([]byte, error) {
	return yaml.Marshal(map[string]any(f))
}

// LoadFixtures reads a fixtures file (YAML or JSON).
func LoadFixtures(path string) (Fixtures, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read fixtures: %w", err)
	}
	f, err := ParseFixtures(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// setupVendors checks every vendor's settings and fixtures and parses them.
func (c Config) setupVendors() ([]vendorSetup, error) {
	byName := map[string]bool{}
	settings := map[string]map[string]string{}
	for _, d := range c.Vendors {
		switch {
		case d.Name == "" || d.New == nil:
			return nil, errors.New("config: a vendor definition needs a Name and New")
		case byName[d.Name]:
			return nil, fmt.Errorf("config: two vendors are named %q", d.Name)
		}
		byName[d.Name] = true
		settings[d.Name] = map[string]string{}
	}
	for key, value := range c.Settings {
		vendor, name, _ := strings.Cut(key, ".")
		def := c.definition(vendor)
		if def == nil || !slices.ContainsFunc(def.Settings, func(s vendorapi.Setting) bool { return s.Name == name }) {
			return nil, fmt.Errorf("config: no setting %q (settings are named <vendor>.<setting>; `tokenemu -h` lists them)", key)
		}
		settings[vendor][name] = value
	}
	for name := range c.Fixtures {
		if !byName[name] {
			return nil, fmt.Errorf("fixtures: no vendor %q (the vendors are %s)", name, strings.Join(c.vendorNames(), ", "))
		}
	}
	setups := make([]vendorSetup, 0, len(c.Vendors))
	for _, d := range c.Vendors {
		s := vendorSetup{def: d}
		if d.Configure != nil {
			cfg, err := d.Configure(settings[d.Name])
			if se, ok := errors.AsType[*vendorapi.SettingError](err); ok {
				se.Vendor = d.Name
				return nil, fmt.Errorf("config: %w (the flag -%s-%s)", se, d.Name, se.Name)
			}
			if err != nil {
				return nil, fmt.Errorf("config: %s: %w", d.Name, err)
			}
			s.config = cfg
		}
		if d.Fixtures != nil {
			var raw []byte
			if v, ok := c.Fixtures[d.Name]; ok && v != nil {
				b, err := yaml.Marshal(v)
				if err != nil {
					return nil, fmt.Errorf("fixtures: %s: %w", d.Name, err)
				}
				raw = b
			}
			fx, err := d.Fixtures(raw)
			if err != nil {
				return nil, fmt.Errorf("fixtures: %s: %w", d.Name, err)
			}
			s.fixtures = fx
			if s.fixturesJSON, err = json.Marshal(fx); err != nil {
				return nil, fmt.Errorf("fixtures: %s: %w", d.Name, err)
			}
		}
		setups = append(setups, s)
	}
	return setups, nil
}

func (c Config) definition(name string) *vendorapi.Definition {
	for i := range c.Vendors {
		if c.Vendors[i].Name == name {
			return &c.Vendors[i]
		}
	}
	return nil
}

func (c Config) vendorNames() []string {
	names := make([]string, 0, len(c.Vendors))
	for _, d := range c.Vendors {
		names = append(names, d.Name)
	}
	return names
}

// FixturesInEffect returns each vendor's fixtures as New would serve them
// (its package's Fixtures type: the defaults, or c.Fixtures's for it), by
// vendor name.
func (c Config) FixturesInEffect() (map[string]any, error) {
	if c.Vendors == nil {
		c.Vendors = vendors.All()
	}
	setups, err := c.setupVendors()
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(setups))
	for _, s := range setups {
		out[s.def.Name] = s.fixtures
	}
	return out, nil
}
