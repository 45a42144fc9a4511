package cleanup

import (
	"context"
	"errors"
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

// TestRunDeadline checks that a call that blocks (a stalled store) ends at its
// deadline, and that Stopped tells that from a call Stop cut short.
func TestRunDeadline(t *testing.T) {
	r := Runner{MinTimeout: 50 * time.Millisecond}
	type ended struct {
		stopped  bool
		deadline bool
	}
	calls := make(chan ended, 10)
	r.Start(time.Millisecond, func(ctx context.Context) {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("a call's context has no deadline")
		}
		<-ctx.Done()
		calls <- ended{Stopped(ctx), errors.Is(ctx.Err(), context.DeadlineExceeded)}
	})
	t.Cleanup(r.Stop)
	select {
	case e := <-calls:
		if e.stopped || !e.deadline {
			t.Errorf("a call past its deadline: Stopped = %v, DeadlineExceeded = %v; want false, true", e.stopped, e.deadline)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a blocked call did not end within 10s of its 50ms deadline")
	}

	// A call in progress when Stop is called is cut short by it. (Start stops the loop
	// above first: the call it cuts short reports on calls too, and is skipped.)
	r.MinTimeout = time.Hour
	started, cut := make(chan struct{}), make(chan ended, 1)
	r.Start(time.Millisecond, func(ctx context.Context) {
		close(started)
		<-ctx.Done()
		cut <- ended{Stopped(ctx), errors.Is(ctx.Err(), context.DeadlineExceeded)}
	})
	<-started
	r.Stop()
	if e := <-cut; !e.stopped || e.deadline {
		t.Errorf("a call cut short by Stop: Stopped = %v, DeadlineExceeded = %v; want true, false", e.stopped, e.deadline)
	}
}
