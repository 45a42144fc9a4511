package redistest

import (
	"os/exec"
	"syscall"
)

// dieWithTest makes the server get SIGKILL when the test process dies, so that a test
// binary that panics or times out, whose cleanups do not run, leaves no server behind.
func dieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
