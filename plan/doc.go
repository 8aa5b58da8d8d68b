// Package plan owns the daemon's decisions as plain functions: the desired
// IPVS table from the configuration and the health of the real servers
// (fallback, quiescent, readdquiescent), the failurecount state machine, the
// reload diff by identity, the maintenancedir test, the monitorfile line and
// the email alert decisions. The actors only move messages and hold state;
// everything they decide is decided here.
package plan
