package emulator_test

import (
	"testing"

	"github.com/tokenemu/tokenemu/emulator"
)

func BenchmarkNewInstance(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		e, err := emulator.New(emulator.Config{})
		if err != nil {
			b.Fatal(err)
		}
		_ = e.Close()
	}
}
