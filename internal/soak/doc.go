// Package soak owns the soak test of the daemon (soak_test.go): the
// ldirectord binary on a file table of 10,000 real servers of an
// internal/bench farm, 1 % of them flapping every second and a reload
// every minute, for SOAK_TIME, its goroutines, open files, resident memory
// and heap sampled and held to bounds on their growth. `make test` runs it
// for 3 minutes, `make soak` for an hour. There is no code here besides
// the test.
package soak
