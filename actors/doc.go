// Package actors owns the running daemon: the supervisor tree of
// protoactor-go actors (root, one instance per configuration, one actor per
// virtual service, one prober per real server and per fallback server), the
// IPVS writer that alone calls kernel/, and the file watchers. Actors hold
// state and move messages; every decision is a function of package plan.
package actors
