//go:build unix

package emulator

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockStateFile takes an exclusive lock on file+".lock" for the life of the
// emulator, so that two processes never write one state file. The lock goes
// with the process, however it ends.
func lockStateFile(file string) (*os.File, error) {
	f, err := os.OpenFile(file+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state: lock %s.lock: %w", file, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is in use by another tokenemu (its lock %s.lock is held)", ErrStateLocked, file, file)
		}
		return nil, fmt.Errorf("state: lock %s.lock: %w", file, err)
	}
	return f, nil
}
