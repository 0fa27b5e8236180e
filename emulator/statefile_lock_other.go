//go:build !unix

package emulator

import "os"

// lockStateFile does nothing where flock(2) does not exist (Windows): two
// processes there must not be given one state file.
func lockStateFile(file string) (*os.File, error) { return nil, nil }
