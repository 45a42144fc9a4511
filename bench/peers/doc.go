// Package peers runs the benchmark workload of bench/workload on the peer libraries,
// scs v2 (memstore, redisstore, pgxstore) and gorilla/sessions (CookieStore, signed and
// encrypted), with their defaults. It is a module of its own, so that the typedsession
// module never requires a competitor.
package peers
