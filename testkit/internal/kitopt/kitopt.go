// Package kitopt is what the options of a kit add up to, shared by the
// in-process kit (package testkit) and the container kit, and kept out of
// their public API.
package kitopt

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

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
