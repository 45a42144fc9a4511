//go:build unix

package redistest

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

// stop sends SIGSTOP to pid and waits until the process is stopped, where the system
// shows it (/proc on Linux); elsewhere it returns once the signal is sent.
func stop(pid int) error {
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		return err
	}
	stat := fmt.Sprintf("/proc/%d/stat", pid)
	deadline := time.Now().Add(waitTimeout)
	for {
		b, err := os.ReadFile(stat)
		if err != nil {
			return nil // no /proc: the signal is sent
		}
		// pid (comm) state ...: the state follows the last ')'.
		if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) && (b[i+2] == 'T' || b[i+2] == 't') {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("process %d not stopped after SIGSTOP: %s", pid, b)
		}
		time.Sleep(time.Millisecond)
	}
}

// cont sends SIGCONT to pid.
func cont(pid int) { syscall.Kill(pid, syscall.SIGCONT) }
