package storetest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/storetest"
)

// endsNothing is a Store that reports ending a session (saving a marker over it) as
// done without doing it: Destroy and Renew would leave the old token alive.
type endsNothing struct{ store.KVStore }

func (s endsNothing) Save(ctx context.Context, token string, version uint64, rec store.Record) (string, error) {
	if rec.Ended != store.NotEnded {
		return token, nil
	}
	return s.KVStore.Save(ctx, token, version, rec)
}

// managerChildEnv names the bug of the store that TestRunManager tests in a child process.
const managerChildEnv = "STORETEST_BROKEN_STORE"

func brokenStore(bug string) store.Store {
	if bug == "end-does-nothing" {
		return endsNothing{store.KVStore{KV: newRefKV(bugNone)}}
	}
	return store.KVStore{KV: newRefKV(bug)}
}

// TestRunManager runs the suite against a KVStore over the reference KV.
// TestManagerSuiteCatchesBrokenStores runs it again in a child process, with
// managerChildEnv naming the bug to plant in the store.
func TestRunManager(t *testing.T) {
	bug := os.Getenv(managerChildEnv) // bugNone, unless in a child process
	storetest.RunManager(t, func(t *testing.T) store.Store { return brokenStore(bug) }, storetest.ManagerOptions{})
}

// TestManagerSuiteCatchesBrokenStores checks that RunManager fails, in the subtest that
// should catch it, for stores that break the contract in ways a user would notice.
func TestManagerSuiteCatchesBrokenStores(t *testing.T) {
	for _, tc := range []struct {
		bug     string
		subtest string
		want    string
	}{
		{bugUpdateAnyVersion, "ConcurrentIncrements", "no lost updates"},
		{bugUpdateRecreates, "Owner", "after DestroyOwner, the owner's cookie still gives"},
		{"end-does-nothing", "Destroy", "want 409 and no cookie"},
		{"end-does-nothing", "RenewRace", "not a new visitor"},
		{bugTouchIgnored, "IdleTimeout", "idle timeout, ended"},
		{bugTouchIgnored, "TimeoutsChanged", "want it alive"},
	} {
		t.Run(tc.bug, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestRunManager$", "-test.v", "-test.count=1", "-test.timeout=2m")
			cmd.Env = append(os.Environ(), managerChildEnv+"="+tc.bug)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if err != nil && !errors.As(err, &exit) {
				t.Fatalf("running the suite in a child process: %v", err)
			}
			if err == nil {
				t.Fatalf("RunManager passed a store with bug %q; want a failure", tc.bug)
			}
			if !strings.Contains(string(out), "--- FAIL: TestRunManager/"+tc.subtest) || !strings.Contains(string(out), tc.want) {
				t.Errorf("want subtest %s to fail saying %q; output:\n%s", tc.subtest, tc.want, out)
			}
		})
	}
}
