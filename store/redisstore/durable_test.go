package redisstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/redisstore"
)

// TestWaitReplicasInvalid checks that a negative Options.WaitReplicas is an error from
// New.
func TestWaitReplicasInvalid(t *testing.T) {
	t.Parallel()
	c := dial(t, rueidis.ClientOption{})
	if s, err := redisstore.New(c, redisstore.Options{WaitReplicas: -1}); err == nil {
		t.Errorf("New(WaitReplicas -1) = %v, nil; want an error", s)
	}
}

// testFrozen freezes every replica of topo and checks that each write of a store with
// WaitReplicas 1 is an error that wraps ErrNotReplicated (never a conflict, never a
// success the replicas lack) within its context's deadline, while the same writes of a
// default store succeed; once the replicas are thawed, durable writes succeed again.
func testFrozen(t *testing.T, topo topology) {
	c := topo.Client()
	prefix := uniquePrefix(t, c)
	stores := map[string]store.OwnerKV{
		"durable": mustNew(t, c, redisstore.Options{Prefix: prefix, WaitReplicas: 1}).KV.(store.OwnerKV),
		"default": mustNew(t, c, redisstore.Options{Prefix: prefix}).KV.(store.OwnerKV),
	}
	ctx := t.Context()
	now := time.Now().Truncate(time.Millisecond)
	ops := []struct {
		name string
		do   func(ctx context.Context, kv store.OwnerKV, key, owner string) error
	}{
		{"Create", func(ctx context.Context, kv store.OwnerKV, _, owner string) error {
			return kv.Create(ctx, newKey(), record(1, owner, "new"))
		}},
		{"CreateWithoutOwner", func(ctx context.Context, kv store.OwnerKV, _, _ string) error {
			return kv.Create(ctx, newKey(), record(1, "", "new"))
		}},
		{"Update", func(ctx context.Context, kv store.OwnerKV, key, owner string) error {
			return kv.Update(ctx, key, 1, record(2, owner, "changed"))
		}},
		{"UpdateWithoutOwner", func(ctx context.Context, kv store.OwnerKV, key, _ string) error {
			return kv.Update(ctx, key, 1, record(2, "", "changed"))
		}},
		{"Destroy", func(ctx context.Context, kv store.OwnerKV, key, owner string) error {
			marker := store.Record{Expiry: now.Add(time.Minute), Version: 2, Owner: owner, Ended: store.Destroyed}
			return kv.Update(ctx, key, 1, marker)
		}},
		{"Touch", func(ctx context.Context, kv store.OwnerKV, key, _ string) error {
			return kv.Touch(ctx, key, now, now.Add(2*time.Hour))
		}},
		{"Delete", func(ctx context.Context, kv store.OwnerKV, key, _ string) error {
			return kv.Delete(ctx, key)
		}},
		{"DeleteOwned", func(ctx context.Context, kv store.OwnerKV, _, owner string) error {
			deleted, err := kv.DeleteOwned(ctx, owner, "")
			if err == nil && len(deleted) != 3 {
				t.Errorf("DeleteOwned() deleted %d, want 3", len(deleted))
			}
			return err
		}},
	}
	// Each operation of each store gets a record of its own, and an owner with three
	// sessions, written while the replicas keep up.
	type target struct{ key, owner string }
	targets := map[string]target{}
	for name, kv := range stores {
		for _, op := range ops {
			tg := target{newKey(), name + "-" + op.name}
			rec := record(1, tg.owner, "x")
			if op.name == "UpdateWithoutOwner" {
				rec.Owner = ""
			}
			if err := kv.Create(ctx, tg.key, rec); err != nil {
				t.Fatalf("%s: Create() with the replicas up = %v", name, err)
			}
			for range 2 {
				if err := kv.Create(ctx, newKey(), record(1, tg.owner, "x")); err != nil {
					t.Fatalf("%s: Create() with the replicas up = %v", name, err)
				}
			}
			targets[name+op.name] = tg
		}
	}

	// A WAIT counts the replicas that have acknowledged the replication offset of its
	// connection's last command, whatever it was: once the replicas have acknowledged
	// everything, a WAIT on any connection but the write's own would be satisfied at
	// once, so a write that does not wait on its own connection shows here.
	topo.Settle(t)
	replicas := topo.Replicas(t)
	for _, r := range replicas {
		r.Freeze(t)
	}
	// The first durable write alone, before any other write; then every operation at
	// once (each durable one waits out its deadline).
	const deadline = time.Second
	// The first durable write, alone, is refused by WAIT; among the writes made all at
	// once, on a loaded machine, a durable one may run out of its deadline before
	// WAIT's answer arrives: an error too.
	check := func(name string, op int) {
		tg := targets[name+ops[op].name]
		ctx, cancel := context.WithTimeout(ctx, deadline)
		defer cancel()
		start := time.Now()
		err := ops[op].do(ctx, stores[name], tg.key, tg.owner)
		took := time.Since(start)
		switch {
		case name == "default" && err != nil:
			t.Errorf("default store, replicas frozen: %s() = %v; want success (the master alone acknowledges)", ops[op].name, err)
		case name == "durable" && (err == nil || errors.Is(err, typedsession.ErrConflict) ||
			!errors.Is(err, redisstore.ErrNotReplicated) && (op == 0 || !errors.Is(err, context.DeadlineExceeded))):
			t.Errorf("WaitReplicas=1, replicas frozen: %s() = %v; want an error wrapping ErrNotReplicated", ops[op].name, err)
		case name == "durable" && took > deadline+haSlack:
			t.Errorf("WaitReplicas=1, replicas frozen: %s() took %v; want an error within its deadline (%v)", ops[op].name, took, deadline)
		case name == "durable":
			t.Logf("WaitReplicas=1, replicas frozen: %s() = %v after %v", ops[op].name, err, took.Round(time.Millisecond))
		}
	}
	check("durable", 0)
	var wg sync.WaitGroup
	for op := range ops {
		for name := range stores {
			if op > 0 || name != "durable" {
				wg.Go(func() { check(name, op) })
			}
		}
	}
	wg.Wait()

	for _, r := range replicas {
		r.Thaw()
	}
	// The replicas catch up at once: a durable write is acknowledged again.
	kv := stores["durable"]
	waitUntil(t, 10*time.Second, "a durable Create to succeed once the replicas are thawed", func() bool {
		ctx, cancel := context.WithTimeout(ctx, deadline)
		defer cancel()
		return kv.Create(ctx, newKey(), record(1, "thawed", "x")) == nil
	})
}
