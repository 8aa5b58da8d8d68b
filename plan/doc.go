// Package plan is the daemon's domain model, the room the rest stands on:
// the health of real servers (Status, RealState and the failurecount state
// machine of Observe), the check of a real server as it is run (Probe:
// target, deadline, checktype on and off, the measured duration), the
// desired IPVS table from the configuration and that health (fallback,
// quiescent, readdquiescent), which services a table write removes, the
// reload diff by identity, the start grace time, the admission limit on
// checks in flight, the maintenancedir test, the monitorfile line, the
// email alerts, and the status report. Everything here is a plain function
// or value; the actors in package actors only hold state and move
// messages, and what they decide is decided here.
package plan
