// Package empty has no exported API: its file in api/ is empty, and still required.
package empty

func unexported() {}
