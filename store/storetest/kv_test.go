package storetest_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/storetest"
)

// refKV is a plain, obviously correct KV and OwnerKV: one map behind one mutex. With bug
// set, it breaks one sentence of the contract, so that the suite can be shown to catch it.
type refKV struct {
	bug string

	mu sync.Mutex
	m  map[string]store.Record
}

// The bugs refKV can have.
const (
	bugNone               = ""
	bugCreateOverwrites   = "create-overwrites"
	bugUpdateAnyVersion   = "update-ignores-version"
	bugUpdateRecreates    = "update-recreates-deleted"
	bugUpdateExpired      = "update-revives-expired"
	bugGetExpired         = "get-returns-expired"
	bugTouchRewrites      = "touch-rewrites-record"
	bugTouchCreates       = "touch-creates"
	bugTouchIgnored       = "touch-ignored"
	bugCancelNotFound     = "cancelled-get-not-found"
	bugIgnoresCtx         = "ignores-ctx"
	bugDeleteMissingErr   = "delete-missing-errors"
	bugAliasesData        = "aliases-data"
	bugSecondTimes        = "keeps-seconds"
	bugDropsPersist       = "drops-remember-me"
	bugTruncatesData      = "truncates-large-data"
	bugStringData         = "stops-at-nul"
	bugOwnedExpired       = "owned-returns-expired"
	bugOwnedMarkers       = "owned-returns-markers"
	bugOwnedOwnerless     = "owned-lists-ownerless"
	bugOwnedOthers        = "owned-lists-everyone"
	bugDeleteOwnedExcept  = "deleteowned-ignores-except"
	bugDeleteOwnedCount   = "deleteowned-reports-expired"
	bugNoOwnerKV          = "not-an-ownerkv" // correct, but only a KV
	bugUpdateLosesUpdates = "update-check-then-act"
)

func newRefKV(bug string) store.KV {
	k := &refKV{bug: bug, m: make(map[string]store.Record)}
	if bug == bugNoOwnerKV {
		return struct{ store.KV }{k}
	}
	return k
}

func (k *refKV) ctxErr(ctx context.Context) error {
	if k.bug == bugIgnoresCtx {
		return nil
	}
	return ctx.Err()
}

func (k *refKV) copyData(b []byte) []byte {
	if k.bug == bugAliasesData {
		return b
	}
	if k.bug == bugTruncatesData && len(b) > 1<<16 {
		b = b[:1<<16]
	}
	if k.bug == bugStringData {
		if i := bytes.IndexByte(b, 0); i >= 0 {
			b = b[:i]
		}
	}
	return bytes.Clone(b)
}

func (k *refKV) store(rec store.Record) store.Record {
	rec.Data = k.copyData(rec.Data)
	if k.bug == bugSecondTimes {
		rec.Expiry = rec.Expiry.Truncate(time.Second)
		rec.Created = rec.Created.Truncate(time.Second)
	}
	if k.bug == bugDropsPersist {
		rec.RememberMe = false
	}
	return rec
}

// live returns the record at key if it is live. k.mu is held.
func (k *refKV) live(key string) (store.Record, bool) {
	rec, ok := k.m[key]
	if !ok || !time.Now().Before(rec.Expiry) {
		return store.Record{}, false
	}
	return rec, true
}

func (k *refKV) Get(ctx context.Context, key string) (store.Record, bool, error) {
	if err := k.ctxErr(ctx); err != nil {
		if k.bug == bugCancelNotFound {
			return store.Record{}, false, nil
		}
		return store.Record{}, false, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	rec, ok := k.live(key)
	if k.bug == bugGetExpired {
		rec, ok = k.m[key]
	}
	if !ok {
		return store.Record{}, false, nil
	}
	rec.Data = k.copyData(rec.Data)
	return rec, true, nil
}

func (k *refKV) Create(ctx context.Context, key string, rec store.Record) error {
	if err := k.ctxErr(ctx); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.live(key); ok && k.bug != bugCreateOverwrites {
		return typedsession.ErrConflict
	}
	k.m[key] = k.store(rec)
	return nil
}

func (k *refKV) Update(ctx context.Context, key string, version uint64, rec store.Record) error {
	if err := k.ctxErr(ctx); err != nil {
		return err
	}
	if k.bug == bugUpdateLosesUpdates {
		// Check, then act, without holding the lock in between.
		k.mu.Lock()
		old, ok := k.live(key)
		k.mu.Unlock()
		if !ok || old.Version != version {
			return typedsession.ErrConflict
		}
		time.Sleep(time.Millisecond) // long enough that the others check meanwhile
		k.mu.Lock()
		k.m[key] = k.store(rec)
		k.mu.Unlock()
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	old, ok := k.live(key)
	switch {
	case !ok && k.bug == bugUpdateRecreates:
	case !ok && k.bug == bugUpdateExpired && k.m[key].Version == version:
	case !ok:
		return typedsession.ErrConflict
	case old.Version != version && k.bug != bugUpdateAnyVersion:
		return typedsession.ErrConflict
	}
	k.m[key] = k.store(rec)
	return nil
}

func (k *refKV) Touch(ctx context.Context, key string, active, expiry time.Time) error {
	if err := k.ctxErr(ctx); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	rec, ok := k.live(key)
	switch {
	case !ok && k.bug == bugTouchCreates:
		k.m[key] = store.Record{Expiry: expiry}
	case !ok, k.bug == bugTouchIgnored:
	case k.bug == bugTouchRewrites:
		k.m[key] = store.Record{Data: rec.Data, Active: active, Expiry: expiry, Version: rec.Version + 1, Owner: rec.Owner}
	default:
		rec.Active, rec.Expiry = active, expiry
		k.m[key] = rec
	}
	return nil
}

func (k *refKV) Delete(ctx context.Context, key string) error {
	if err := k.ctxErr(ctx); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.m[key]; !ok && k.bug == bugDeleteMissingErr {
		return errors.New("refkv: no such key")
	}
	delete(k.m, key)
	return nil
}

func (k *refKV) Owned(ctx context.Context, owner string) (map[string]store.Record, error) {
	if err := k.ctxErr(ctx); err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make(map[string]store.Record)
	for key, rec := range k.m {
		_, live := k.live(key)
		switch {
		case k.bug == bugOwnedOthers && live:
		case k.bug == bugOwnedOwnerless && live && rec.Owner == "":
		case k.bug == bugOwnedExpired && rec.Owner == owner && owner != "":
		case k.bug == bugOwnedMarkers && live && rec.Owner == owner && owner != "":
		case !live || rec.Owner != owner || owner == "" || rec.Ended != store.NotEnded:
			continue
		}
		out[key] = rec
	}
	return out, nil
}

func (k *refKV) DeleteOwned(ctx context.Context, owner, except string) ([]string, error) {
	if err := k.ctxErr(ctx); err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	var deleted []string
	for key, rec := range k.m {
		if owner == "" || rec.Owner != owner || rec.Ended != store.NotEnded || (key == except && k.bug != bugDeleteOwnedExcept) {
			continue
		}
		if _, live := k.live(key); live || k.bug == bugDeleteOwnedCount {
			deleted = append(deleted, key)
		}
		delete(k.m, key)
	}
	return deleted, nil
}

// TestRunKV runs the suite against the reference KV, which must pass it.
// childEnv names the bug of the KV that TestRunKV tests in a child process.
const childEnv = "STORETEST_BROKEN_KV"

// TestRunKV runs the suite against the reference KV. TestSuiteCatchesBrokenKVs runs it
// again in a child process, with childEnv naming the bug to plant in the KV.
func TestRunKV(t *testing.T) {
	bug := os.Getenv(childEnv) // bugNone, unless in a child process
	storetest.RunKV(t, func(t *testing.T) store.KV { return newRefKV(bug) })
}

// runChild runs TestRunKV with the KV broken by bug, and returns its verbose
// output and whether it passed.
func runChild(t *testing.T, bug string) (string, bool) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestRunKV$", "-test.v", "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), childEnv+"="+bug)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running the suite in a child process: %v", err)
	}
	return string(out), err == nil
}

// TestSuiteCatchesBrokenKVs runs the suite against KVs that each break one sentence of
// the contract, and checks that the suite fails, in the subtest that checks the sentence,
// with a message that quotes it.
func TestSuiteCatchesBrokenKVs(t *testing.T) {
	tests := []struct {
		bug     string
		subtest string // a subtest that must fail
		quote   string // a contract sentence the failure must quote
	}{
		{bugCreateOverwrites, "CreateNeverOverwrites", "It never overwrites"},
		{bugUpdateAnyVersion, "UpdateVersion", "changes nothing"},
		{bugUpdateLosesUpdates, "ConcurrentUpdates", "updates were lost"},
		{bugUpdateRecreates, "UpdateDeleted", "a late write never brings a deleted session back"},
		{bugUpdateRecreates, "UpdateMissing", "changes nothing"},
		{bugUpdateExpired, "UpdateExpired", "a late write never brings a deleted session back"},
		{bugGetExpired, "ExpiryAtRead", "a record at or past its Expiry is not found"},
		{bugTouchRewrites, "Touch", "leaving every other field alone"},
		{bugTouchCreates, "TouchMissing", "Touching a missing or expired key does nothing"},
		{bugTouchIgnored, "Touch", "Touch sets the Active and Expiry"},
		{bugCancelNotFound, "CancelledContext", "a system failure is never reported as not found"},
		{bugIgnoresCtx, "CancelledContext", "Every method honours ctx cancellation"},
		{bugIgnoresCtx, "OwnerCancelledContext", "Every method honours ctx cancellation"},
		{bugDeleteMissingErr, "Delete", "Deleting a missing key is not an error"},
		{bugAliasesData, "CreateGet", "gives it back unchanged"},
		{bugSecondTimes, "CreateGet", "gives it back unchanged"},
		{bugDropsPersist, "CreateGet", "RememberMe = false, want true"},
		{bugTruncatesData, "LargeData", "gives it back unchanged"},
		{bugStringData, "BinaryData", "gives it back unchanged"},
		{bugOwnedExpired, "Owned", "expired records and markers are never returned"},
		{bugOwnedMarkers, "Markers", "markers are never returned nor counted"},
		{bugOwnedOwnerless, "OwnedEmptyOwner", "Records without an Owner are never listed"},
		{bugOwnedOthers, "Owned", "Owned returns the live sessions whose Owner is owner"},
		{bugDeleteOwnedExcept, "DeleteOwned", "except the one at key except"},
		{bugDeleteOwnedCount, "DeleteOwned", "returns the keys of those it deleted"},
	}
	// One child per bug, checked against every expectation for it.
	type result struct {
		out    string
		passed bool
	}
	var (
		mu      sync.Mutex
		results = make(map[string]*result)
		once    = make(map[string]*sync.Once)
	)
	for _, tc := range tests {
		if once[tc.bug] == nil {
			once[tc.bug] = new(sync.Once)
		}
	}
	child := func(t *testing.T, bug string) *result {
		once[bug].Do(func() {
			out, passed := runChild(t, bug)
			mu.Lock()
			results[bug] = &result{out, passed}
			mu.Unlock()
		})
		mu.Lock()
		defer mu.Unlock()
		return results[bug]
	}
	for _, tc := range tests {
		t.Run(tc.bug+"/"+tc.subtest, func(t *testing.T) {
			t.Parallel()
			r := child(t, tc.bug)
			if r == nil {
				t.Fatal("the child process did not run")
			}
			if r.passed {
				t.Fatalf("the suite passed a KV whose bug is %q; output:\n%s", tc.bug, r.out)
			}
			if !strings.Contains(r.out, "--- FAIL: TestRunKV/"+tc.subtest+" ") {
				t.Errorf("the suite did not fail subtest %s for a KV whose bug is %q; output:\n%s", tc.subtest, tc.bug, r.out)
			}
			if !strings.Contains(r.out, tc.quote) {
				t.Errorf("no failure message quotes %q for a KV whose bug is %q; output:\n%s", tc.quote, tc.bug, r.out)
			}
			if strings.Contains(r.out, "panic:") || strings.Contains(r.out, "DATA RACE") {
				t.Errorf("the suite crashed on a KV whose bug is %q; output:\n%s", tc.bug, r.out)
			}
		})
	}
}

// TestSuiteSkipsOwnerTests checks that a KV without OwnerKV passes, and that the owner
// subtests say why they skip.
func TestSuiteSkipsOwnerTests(t *testing.T) {
	t.Parallel()
	out, passed := runChild(t, bugNoOwnerKV)
	if !passed {
		t.Fatalf("the suite failed a correct KV that does not implement OwnerKV; output:\n%s", out)
	}
	for _, name := range []string{"Owned", "DeleteOwned"} {
		if !strings.Contains(out, "--- SKIP: TestRunKV/"+name+" ") {
			t.Errorf("subtest %s did not skip for a KV without OwnerKV; output:\n%s", name, out)
		}
	}
	if !strings.Contains(out, "does not implement OwnerKV") {
		t.Errorf("the skip message does not say the KV does not implement OwnerKV; output:\n%s", out)
	}
}
