package testkit

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/scenarios"
)

// Option configures a kit. The same options work for Start (in-process) and
// for the container kit.
type Option func(*Settings) error

// Settings is what the options of a kit add up to. Container kits read it to
// turn the options into the emulator's flags and files.
type Settings struct {
	// Config is the emulator's configuration. In a container only the fields
	// that have a flag are honoured (see Args).
	Config emulator.Config
	// Scenarios are active from the start (and again after Reset).
	Scenarios []scenarios.Scenario
	// ClockAt, when set, is where the virtual clock starts.
	ClockAt time.Time
	// Image is a prebuilt image for a container kit ("" builds one from source).
	Image string
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

// WithSeed seeds the fake data.
func WithSeed(seed int64) Option {
	return func(s *Settings) error {
		s.Config.Seed = seed
		return nil
	}
}

// WithFixtures replaces the default users and clients, vendor by vendor.
func WithFixtures(f emulator.Fixtures) Option {
	return func(s *Settings) error {
		s.Config.Fixtures = f
		return nil
	}
}

// WithSetting sets one vendor setting, by "<vendor>.<setting>" (for
// example "brass.rate-limit", "0"): the same as the command line's
// -<vendor>-<setting> (`tokenemu -h` lists them).
func WithSetting(key, value string) Option {
	return func(s *Settings) error {
		if s.Config.Settings == nil {
			s.Config.Settings = map[string]string{}
		}
		s.Config.Settings[key] = value
		return nil
	}
}

// WithFixturesFile loads fixtures from a YAML or JSON file.
func WithFixturesFile(path string) Option {
	return func(s *Settings) error {
		f, err := emulator.LoadFixtures(path)
		if err != nil {
			return err
		}
		s.Config.Fixtures = f
		return nil
	}
}

// WithScenario activates a scenario from the start: a built-in's name
// ("passport-token-endpoint-flaky", or "vendor-outage:brass" for one vendor),
// a YAML or JSON file, or a scenarios.Scenario value.
func WithScenario[T string | scenarios.Scenario](scenario T) Option {
	return func(s *Settings) error {
		switch v := any(scenario).(type) {
		case scenarios.Scenario:
			s.Scenarios = append(s.Scenarios, v)
			return nil
		case string:
			list, err := scenarioByName(v)
			if err != nil {
				return err
			}
			s.Scenarios = append(s.Scenarios, list...)
		}
		return nil
	}
}

// scenarioByName reads a file, or a built-in name with an optional ":vendor".
func scenarioByName(arg string) ([]scenarios.Scenario, error) {
	if st, err := os.Stat(arg); err == nil && !st.IsDir() {
		b, err := os.ReadFile(arg)
		if err != nil {
			return nil, err
		}
		return scenarios.Parse(b)
	}
	name, vendor := arg, ""
	for i := range len(arg) {
		if arg[i] == ':' {
			name, vendor = arg[:i], arg[i+1:]
			break
		}
	}
	s, err := scenarios.Builtin(name, vendor)
	if err != nil {
		return nil, err
	}
	return []scenarios.Scenario{s}, nil
}

// WithClockAt starts the virtual clock at t (running from there).
func WithClockAt(t time.Time) Option {
	return func(s *Settings) error {
		s.ClockAt = t
		return nil
	}
}

// WithConfig changes the emulator's configuration directly.
func WithConfig(change func(*emulator.Config)) Option {
	return func(s *Settings) error {
		change(&s.Config)
		return nil
	}
}

// WithImage makes a container kit run this prebuilt image instead of building
// one from source. In-process kits ignore it.
func WithImage(name string) Option {
	return func(s *Settings) error {
		s.Image = name
		return nil
	}
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
	if !s.ClockAt.IsZero() {
		add("clock", s.ClockAt.UTC().Format(time.RFC3339))
	}
	return args, nil
}
