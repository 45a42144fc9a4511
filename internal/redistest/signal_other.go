//go:build !unix

package redistest

import "errors"

func stop(int) error { return errors.New("freezing a process needs SIGSTOP (unix only)") }

func cont(int) {}
