// Package bench holds the benchmarks of every typedsession backend on the fixed workload
// of BENCH-WORKLOAD.md, beside the raw floor of each backend (a bare rueidis GET/SET, a
// bare pgxpool query, a bare mongo-driver FindOne/UpdateOne/InsertOne, a sync.Map, one
// AES-GCM seal and open) and beside harness-noop.
// The peers (scs, gorilla/sessions) run the same workload in the module bench/peers, so
// that this module never requires a competitor. See README.md for the command and the
// table.
package bench
