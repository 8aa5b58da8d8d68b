// Package packaging holds what an operator installs beside the binary: the
// systemd units, the OCF resource agent, the heartbeat resource script, the
// logrotate rule, an example configuration and the nfpm description of the
// Debian package. It has no Go code; its tests prove those files work with
// the programs that run them (make, dpkg, ocf-tester, heartbeat's calling
// convention, logrotate).
package packaging
