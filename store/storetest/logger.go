package storetest

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// testLogger returns a logger that writes through t.Log, so that what the Manager logs
// shows with the test that caused it (and only with -v or on failure), instead of
// flooding the output of go test. Lines logged after the test ended are dropped.
func testLogger(t testing.TB) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done bool // the test has ended: t.Log would panic
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}
