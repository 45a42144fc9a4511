package storetest

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
)

func kvCancelledContext(t *testing.T, kv store.KV) {
	key := kvNewKey()
	kvMustCreate(t, kv, key, kvRecord("live"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	ops := []struct {
		name string
		op   func() error
	}{
		{"Get of a live record", func() error {
			_, _, err := kv.Get(ctx, key)
			return err
		}},
		{"Get of a missing key", func() error {
			_, found, err := kv.Get(ctx, kvNewKey())
			if err == nil && !found {
				t.Errorf("Get of a missing key with a cancelled context: found = false, err = nil; contract: %q",
					cCtxNotFound)
			}
			return err
		}},
		{"Create", func() error { return kv.Create(ctx, kvNewKey(), kvRecord("new")) }},
		{"Update", func() error {
			rec := kvRecord("updated")
			rec.Version = 2
			return kv.Update(ctx, key, 1, rec)
		}},
		{"Touch", func() error { return kv.Touch(ctx, key, kvMS(time.Now()), kvMS(time.Now().Add(2*time.Hour))) }},
		{"Delete", func() error { return kv.Delete(ctx, key) }},
	}
	for _, o := range ops {
		kvWantCancelled(t, o.name, o.op())
	}
}

func kvConcurrentUpdates(t *testing.T, kv store.KV) {
	const (
		workers = 8
		each    = 25
		// maxTries bounds the attempts of one increment, so that a store that always
		// conflicts fails the test instead of hanging it.
		maxTries = 100 * workers
	)
	key := kvNewKey()
	start := kvRecord("0")
	kvMustCreate(t, kv, key, start)

	var (
		wg        sync.WaitGroup
		successes atomic.Int64
		conflicts atomic.Int64
		gate      = make(chan struct{})
	)
	ctx := t.Context()
	for range workers {
		wg.Go(func() {
			<-gate
			for range each {
				done := false
				for try := 0; try < maxTries && !done; try++ {
					rec, found, err := kv.Get(ctx, key)
					if err != nil || !found {
						t.Errorf("Get during concurrent updates: found = %v, err = %v; contract: %q", found, err, cConcurrent)
						return
					}
					n, err := strconv.Atoi(string(rec.Data))
					if err != nil {
						t.Errorf("Get during concurrent updates: Data = %q, not a counter; contract: %q", rec.Data, cKeeps)
						return
					}
					version := rec.Version
					// Give the others a chance to read the same version, as a request
					// would while it works on what it read.
					runtime.Gosched()
					rec.Data = []byte(strconv.Itoa(n + 1))
					rec.Version++
					err = kv.Update(ctx, key, version, rec)
					switch {
					case err == nil:
						successes.Add(1)
						done = true
					case errors.Is(err, typedsession.ErrConflict):
						conflicts.Add(1)
					default:
						t.Errorf("Update during concurrent updates: err = %v; contract: %q", err, cConcurrent)
						return
					}
				}
				if !done {
					t.Errorf("an increment conflicted %d times in a row; contract: %q", maxTries, cUpdateCAS)
					return
				}
			}
		})
	}
	close(gate)
	wg.Wait()

	got := kvMustGet(t, kv, key, cConcurrent)
	n := successes.Load()
	if string(got.Data) != strconv.FormatInt(n, 10) || got.Version != uint64(n)+start.Version {
		t.Errorf("after %d successful compare-and-swap increments (and %d conflicts): Data = %q, Version = %d, want %d and %d: updates were lost; contract: %q",
			n, conflicts.Load(), got.Data, got.Version, n, uint64(n)+start.Version, cUpdateCAS)
	}
}

func kvConcurrentCreate(t *testing.T, kv store.KV) {
	const workers = 16
	key := kvNewKey()
	var (
		wg     sync.WaitGroup
		winner atomic.Int64
		wins   atomic.Int64
		gate   = make(chan struct{})
	)
	ctx := t.Context()
	for i := range workers {
		wg.Go(func() {
			<-gate
			err := kv.Create(ctx, key, kvRecord("creator "+strconv.Itoa(i)))
			switch {
			case err == nil:
				wins.Add(1)
				winner.Store(int64(i))
			case errors.Is(err, typedsession.ErrConflict):
			default:
				t.Errorf("concurrent Create: err = %v; contract: %q", err, cConcurrent)
			}
		})
	}
	close(gate)
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Fatalf("%d concurrent Creates of one key succeeded, want exactly 1; contract: %q", n, cNeverOverwrite)
	}
	got := kvMustGet(t, kv, key, cNeverOverwrite)
	if want := "creator " + strconv.FormatInt(winner.Load(), 10); string(got.Data) != want {
		t.Errorf("after concurrent Creates: Data = %q, want the winner's %q; contract: %q", got.Data, want, cNeverOverwrite)
	}
}
