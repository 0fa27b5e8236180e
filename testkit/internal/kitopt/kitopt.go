// Package kitopt is what the options of a kit add up to, shared by the
// in-process kit (package testkit) and the container kit, and kept out of
// their public API.
package kitopt

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/scenarios"
)

// Option configures a kit (testkit.Option).
type Option func(*Settings) error

// Settings is what a kit's options add up to.
type Settings struct {
	// Config is the emulator's configuration. In a container only the fields
	// that have a flag are honoured (see Args).
	Config emulator.Config
	// Scenarios are active from the start (and again after a reset).
	Scenarios []scenarios.Scenario
	// Image is a prebuilt image for a container kit ("" builds one from source).
	Image string
	// Logs, when set, reads the emulator's log (a container's): a kit prints
	// its end when a test fails.
	Logs func(context.Context) (string, error)
}

// Resolve applies opts in order.
func Resolve(opts ...Option) (Settings, error) {
	var s Settings
	for _, o := range opts {
		if err := o(&s); err != nil {
			return s, err
		}
	}
	return s, nil
}

// Args turns the settings' configuration into the emulator's command-line
// flags, for a container. Fields that have no flag (Logger, Clock, Store,
// MaxBodyBytes) are an error when set; fixtures and scenarios travel as files
// (see the container kit).
func (s Settings) Args() ([]string, error) {
	c := s.Config
	if c.Logger != nil || c.Clock != nil || c.Store != nil || c.MaxBodyBytes != 0 || c.MaxHeaderBytes != 0 {
		return nil, fmt.Errorf("testkit: Config.Logger, Clock, Store, MaxBodyBytes and MaxHeaderBytes cannot be passed to a container")
	}
	if c.State != (emulator.StateConfig{}) {
		// The file would live inside the container and die with it.
		return nil, fmt.Errorf("testkit: Config.State cannot be passed to a container; use the in-process kit for durable state")
	}
	var args []string
	add := func(name, value string) { args = append(args, "-"+name+"="+value) }
	if c.Seed != 0 {
		add("seed", strconv.FormatInt(c.Seed, 10))
	}
	if c.AdminToken != "" {
		add("admin-token", c.AdminToken)
	}
	if c.JournalSize != 0 {
		add("journal-size", strconv.Itoa(c.JournalSize))
	}
	for _, key := range slices.Sorted(maps.Keys(c.Settings)) {
		// A vendor setting's flag is its key with a dash: brass.rate-limit → -brass-rate-limit.
		add(strings.Replace(key, ".", "-", 1), c.Settings[key])
	}
	if !c.ClockStart.IsZero() {
		add("clock", c.ClockStart.UTC().Format(time.RFC3339Nano))
	}
	return args, nil
}

// WithLogs makes a kit read the emulator's log with logs when a test fails.
func WithLogs(logs func(context.Context) (string, error)) Option {
	return func(s *Settings) error {
		s.Logs = logs
		return nil
	}
}

// TenantSpec turns the settings into a tenant's (emulator.TenantSpec), with
// a token of its own. A field that configures a whole emulator, not one
// tenant of it (the admin token, the logger, the bounds, the vendors, a
// state file), is an error.
func (s Settings) TenantSpec() (emulator.TenantSpec, error) {
	c := s.Config
	var whole []string
	for name, set := range map[string]bool{
		"AdminToken (a tenant has a token of its own)": c.AdminToken != "",
		"Logger": c.Logger != nil, "Clock": c.Clock != nil, "Store": c.Store != nil,
		"Vendors": c.Vendors != nil, "AllowedHosts": c.AllowedHosts != nil,
		"MaxBodyBytes": c.MaxBodyBytes != 0, "MaxHeaderBytes": c.MaxHeaderBytes != 0, "MaxTokens": c.MaxTokens != 0,
		"Retention": c.Retention != 0, "JournalSize": c.JournalSize != 0, "JournalBytes": c.JournalBytes != 0,
		"JournalWaiters": c.JournalWaiters != 0, "State": c.State != (emulator.StateConfig{}),
	} {
		if set {
			whole = append(whole, "Config."+name)
		}
	}
	if len(whole) > 0 {
		slices.Sort(whole)
		return emulator.TenantSpec{}, fmt.Errorf("testkit: %s configure a whole emulator, not a tenant of a shared one: start one of its own (testkit.Start, container.Start)", strings.Join(whole, ", "))
	}
	spec := emulator.TenantSpec{Seed: c.Seed, Clock: c.ClockStart, Settings: maps.Clone(c.Settings), Token: true}
	if c.Fixtures != nil {
		// Through YAML, as a fixtures file holds them: a vendor's fixtures
		// type has YAML names, which JSON keeps.
		y, err := c.Fixtures.YAML()
		if err != nil {
			return spec, fmt.Errorf("testkit: fixtures: %w", err)
		}
		var doc any
		if err := yaml.Unmarshal(y, &doc); err != nil {
			return spec, fmt.Errorf("testkit: fixtures: %w", err)
		}
		if spec.Fixtures, err = json.Marshal(doc); err != nil {
			return spec, fmt.Errorf("testkit: fixtures: %w", err)
		}
	}
	for _, sc := range append(slices.Clip(c.Scenarios), s.Scenarios...) {
		b, err := json.Marshal(sc)
		if err != nil {
			return spec, fmt.Errorf("testkit: scenario %s: %w", sc.Name, err)
		}
		spec.Scenarios = append(spec.Scenarios, b)
	}
	return spec, nil
}
