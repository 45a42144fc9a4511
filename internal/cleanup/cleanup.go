// Package cleanup runs a store's removal of expired records in the background.
package cleanup

import (
	"context"
	"sync"
	"time"
)

// Runner calls a function at an interval, in a goroutine of its own, until Stop. The
// zero Runner is ready to use; it is safe for concurrent use.
type Runner struct {
	mu     sync.Mutex
	cancel context.CancelFunc // of the running loop, or nil
	done   chan struct{}      // closed when the running loop has returned
}

// Start stops the running loop, if any, then calls fn every interval until Stop. fn's
// context is cancelled by Stop. Start panics if interval is not positive.
func (r *Runner) Start(interval time.Duration, fn func(ctx context.Context)) {
	if interval <= 0 {
		panic("cleanup: interval must be positive")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopLocked()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	r.cancel, r.done = cancel, done
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				fn(ctx)
			}
		}
	}()
}

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
