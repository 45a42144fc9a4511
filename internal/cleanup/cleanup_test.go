package cleanup

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunner(t *testing.T) {
	var r Runner
	r.Stop() // nothing runs: a no-op
	var calls atomic.Int64
	r.Start(time.Millisecond, func(context.Context) { calls.Add(1) })
	deadline := time.Now().Add(5 * time.Second)
	for calls.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if calls.Load() < 3 {
		t.Fatalf("fn ran %d times in 5s at a 1ms interval", calls.Load())
	}
	// Start again replaces the loop; Stop waits for it.
	var second atomic.Int64
	r.Start(time.Millisecond, func(ctx context.Context) { second.Add(1) })
	r.Stop()
	r.Stop()
	before, after := calls.Load(), second.Load()
	time.Sleep(20 * time.Millisecond)
	if calls.Load() != before || second.Load() != after {
		t.Errorf("fn ran after Stop returned")
	}
}

func TestStartPanicsOnBadInterval(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Start(0) did not panic")
		}
	}()
	var r Runner
	r.Start(0, func(context.Context) {})
}
