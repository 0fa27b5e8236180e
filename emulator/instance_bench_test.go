package emulator_test

import (
	"runtime"
	"testing"

	"github.com/tokenemu/tokenemu/emulator"
)

// BenchmarkNewInstance: building one emulator (what a tenant costs), in
// time, bytes allocated (B/op) and bytes it keeps on the heap once built
// (retained-B/op: the heap after a collection, with every emulator built
// kept alive, over how many were built).
func BenchmarkNewInstance(b *testing.B) {
	b.ReportAllocs()
	var kept []*emulator.Emulator
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for b.Loop() {
		e, err := emulator.New(emulator.Config{})
		if err != nil {
			b.Fatal(err)
		}
		kept = append(kept, e)
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(len(kept)), "retained-B/op")
	for _, e := range kept {
		_ = e.Close()
	}
	runtime.KeepAlive(kept)
}
