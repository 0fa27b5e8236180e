// Package vendors is the one list of the vendors tokenemu emulates. The
// core (emulator.Config.Vendors defaults to it), the command line's flags,
// the kit and the bench all derive from it, and no other code names a
// vendor. Adding a vendor is its package and one line here.
package vendors

import (
	"github.com/tokenemu/tokenemu/emulator/brass"
	"github.com/tokenemu/tokenemu/emulator/passkit"
	"github.com/tokenemu/tokenemu/emulator/passport"
	"github.com/tokenemu/tokenemu/emulator/teletracker"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
)

// All returns the definitions of every vendor tokenemu emulates, in the
// order they are listed (a fresh slice each time: append to it freely).
func All() []vendorapi.Definition {
	return []vendorapi.Definition{
		passport.Definition(),
		passkit.Definition(),
		teletracker.Definition(),
		brass.Definition(),
	}
}

// Names lists the vendors' names, in order.
func Names() []string {
	all := All()
	names := make([]string, len(all))
	for i, d := range all {
		names[i] = d.Name
	}
	return names
}
