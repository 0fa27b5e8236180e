package testkit

import (
	"os"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/scenarios"
	"github.com/tokenemu/tokenemu/testkit/internal/kitopt"
)

// Option configures a kit. The same options work for Start (in-process) and
// for the container kit.
type Option = kitopt.Option

// WithSeed seeds the fake data.
func WithSeed(seed int64) Option {
	return func(s *kitopt.Settings) error {
		s.Config.Seed = seed
		return nil
	}
}

// WithFixtures replaces the default users and clients, vendor by vendor.
func WithFixtures(f emulator.Fixtures) Option {
	return func(s *kitopt.Settings) error {
		s.Config.Fixtures = f
		return nil
	}
}

// WithSetting sets one vendor setting, by "<vendor>.<setting>" (for
// example "brass.rate-limit", "0"): the same as the command line's
// -<vendor>-<setting> (`tokenemu -h` lists them).
func WithSetting(key, value string) Option {
	return func(s *kitopt.Settings) error {
		if s.Config.Settings == nil {
			s.Config.Settings = map[string]string{}
		}
		s.Config.Settings[key] = value
		return nil
	}
}

// WithFixturesFile loads fixtures from a YAML or JSON file.
func WithFixturesFile(path string) Option {
	return func(s *kitopt.Settings) error {
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
	return func(s *kitopt.Settings) error {
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

// WithClockAt starts the virtual clock at t (running from there); a reset
// puts it back there (Config.ClockStart, the command line's -clock).
func WithClockAt(t time.Time) Option {
	return func(s *kitopt.Settings) error {
		s.Config.ClockStart = t
		return nil
	}
}

// WithConfig changes the emulator's configuration directly.
func WithConfig(change func(*emulator.Config)) Option {
	return func(s *kitopt.Settings) error {
		change(&s.Config)
		return nil
	}
}

// WithImage makes a container kit run this prebuilt image instead of building
// one from source. In-process kits ignore it.
func WithImage(name string) Option {
	return func(s *kitopt.Settings) error {
		s.Image = name
		return nil
	}
}
