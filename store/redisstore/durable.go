package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/rueidis"
)

// ErrNotReplicated reports a write that fewer replicas than Options.WaitReplicas
// acknowledged before its deadline (Redis WAIT). The write was applied on the master,
// which may lose it if it fails before a replica has it. Through a Manager it is
// reported as typedsession.ErrUnavailable, never as a conflict.
var ErrNotReplicated = errors.New("redisstore: write not acknowledged by enough replicas")

// noDeadlineWait is how long a write waits for its replicas when its context has no
// deadline.
const noDeadlineWait = time.Second

// maxWaitGroups bounds how many cluster slots one write waits on at once (DeleteOwned
// of an owner with sessions in many slots).
const maxWaitGroups = 8

// waitMillis returns the timeout of WAIT for a write under ctx: half the time left
// before ctx's deadline, so that WAIT's reply, even a short count, arrives before the
// deadline, after the write and whatever it takes to get a connection;
// noDeadlineWait without a deadline. Never 0, which would make WAIT block for ever.
func waitMillis(ctx context.Context) int64 {
	d := noDeadlineWait
	if dl, ok := ctx.Deadline(); ok {
		d = time.Until(dl) / 2
	}
	return max(d.Milliseconds(), 1)
}

// write sends cmds, the commands of one write, in one round trip and returns their
// results. With Options.WaitReplicas set, a WAIT follows them on the connection that
// carried them, and waitErr reports (wrapping ErrNotReplicated) that fewer replicas
// than required acknowledged them; the caller reports it only for a write that
// happened.
//
// WAIT counts the replicas that have acknowledged the replication stream up to where it
// stood after its own connection's previous command, whatever it was, so it must follow
// the write on the write's connection: on another one it may be satisfied at once. A standalone or Sentinel client sends a
// pipeline that holds a blocking command (WAIT is one) on one connection of its
// blocking pool. A Cluster client would send the commands for two slots to two nodes,
// and would retry a command redirected by MOVED on another connection without its
// WAIT, so on a Cluster each slot's commands and a WAIT of their own go through a
// dedicated connection (which does not follow redirects: a moved slot is an error),
// the slots in parallel.
func (k *kv) write(ctx context.Context, cmds ...rueidis.Completed) (res []rueidis.RedisResult, waitErr error) {
	if k.replicas <= 0 {
		if len(cmds) == 1 {
			return []rueidis.RedisResult{k.client.Do(ctx, cmds[0])}, nil
		}
		return k.client.DoMulti(ctx, cmds...), nil
	}
	if !k.cluster {
		r := k.client.DoMulti(ctx, append(cmds, k.waitCmd(ctx))...)
		return r[:len(cmds)], k.waitResult(r[len(cmds)])
	}
	// Group the commands by slot, keeping their order within each slot.
	var slots []uint16
	bySlot := map[uint16][]int{}
	for i := range cmds {
		s := cmds[i].Slot()
		if _, ok := bySlot[s]; !ok {
			slots = append(slots, s)
		}
		bySlot[s] = append(bySlot[s], i)
	}
	res = make([]rueidis.RedisResult, len(cmds))
	if len(slots) == 1 {
		return res, k.dedicated(ctx, cmds, bySlot[slots[0]], res)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	sem := make(chan struct{}, maxWaitGroups)
	for _, s := range slots {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := k.dedicated(ctx, cmds, bySlot[s], res); err != nil {
				mu.Lock()
				if waitErr == nil {
					waitErr = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return res, waitErr
}

// dedicated sends the commands cmds[i] for i in idx, all of one slot, and a WAIT on a
// dedicated connection of a Cluster client, and stores their results in res.
func (k *kv) dedicated(ctx context.Context, cmds []rueidis.Completed, idx []int, res []rueidis.RedisResult) error {
	multi := make([]rueidis.Completed, 0, len(idx)+1)
	for _, i := range idx {
		multi = append(multi, cmds[i])
	}
	dc, release := k.client.Dedicate()
	defer release()
	r := dc.DoMulti(ctx, append(multi, k.waitCmd(ctx))...)
	for _, x := range r {
		if x.NonRedisError() != nil {
			// A reply may still be on its way (WAIT outlived ctx): the connection
			// must not serve another write.
			dc.Close()
			break
		}
	}
	for j, i := range idx {
		res[i] = r[j]
	}
	return k.waitResult(r[len(idx)])
}

func (k *kv) waitCmd(ctx context.Context) rueidis.Completed {
	return k.client.B().Wait().Numreplicas(int64(k.replicas)).Timeout(waitMillis(ctx)).Build()
}

// waitResult turns WAIT's reply into nil, or an error wrapping ErrNotReplicated.
func (k *kv) waitResult(r rueidis.RedisResult) error {
	n, err := r.AsInt64()
	if err != nil {
		return fmt.Errorf("%w: WAIT %d: %w", ErrNotReplicated, k.replicas, err)
	}
	if n < int64(k.replicas) {
		return fmt.Errorf("%w: %d of %d acknowledged in time; the master has the write, but a failover may lose it", ErrNotReplicated, n, k.replicas)
	}
	return nil
}
