// Package cleanup runs a store's removal of expired records in the background.
package cleanup

import (
	"context"
	"errors"
	"sync"
	"time"
)

// DefaultMinTimeout is the shortest deadline a call gets when Runner.MinTimeout is
// zero, whatever the interval: a cleanup of many expired records at a short interval
// still has time to work.
const DefaultMinTimeout = 30 * time.Second

// errStopped is the cause of the cancellation of a run that Stop cut short.
var errStopped = errors.New("cleanup: stopped")

// Runner calls a function at an interval, in a goroutine of its own, until Stop. The
// zero Runner is ready to use; it is safe for concurrent use.
type Runner struct {
	// MinTimeout is the shortest deadline of a call (see Start). Default
	// DefaultMinTimeout.
	MinTimeout time.Duration

	mu     sync.Mutex
	cancel context.CancelFunc // of the running loop, or nil
	done   chan struct{}      // closed when the running loop has returned
}

// Start stops the running loop, if any, then calls fn every interval until Stop. Each
// call's context has a deadline, the interval or r.MinTimeout if that is longer, so
// that a store that stalls holds the cleanup up for that long at most, and it is
// cancelled by Stop ([Stopped] tells the two apart). Start panics if interval is not
// positive.
func (r *Runner) Start(interval time.Duration, fn func(ctx context.Context)) {
	if interval <= 0 {
		panic("cleanup: interval must be positive")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopLocked()
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan struct{})
	r.cancel, r.done = func() { cancel(errStopped) }, done
	timeout := r.MinTimeout
	if timeout == 0 {
		timeout = DefaultMinTimeout
	}
	timeout = max(interval, timeout)
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				run, cancel := context.WithTimeout(ctx, timeout)
				fn(run)
				cancel()
			}
		}
	}()
}

// Stopped reports whether ctx, the context of a call of fn, was cancelled by Stop:
// an error the call returns then says nothing about the store.
func Stopped(ctx context.Context) bool { return errors.Is(context.Cause(ctx), errStopped) }

// Stop stops the running loop and returns once it has returned. It is safe to call
// more than once, and when nothing runs.
func (r *Runner) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopLocked()
}

func (r *Runner) stopLocked() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	<-r.done
	r.cancel, r.done = nil, nil
}
