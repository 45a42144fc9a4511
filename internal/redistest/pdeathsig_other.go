//go:build !linux

package redistest

import "os/exec"

// dieWithTest does nothing where the system cannot tie a process to its parent's life:
// the servers of a test process that dies before its cleanups run stay behind.
func dieWithTest(*exec.Cmd) {}
