package vm

import (
	"fmt"
	"os/exec"
	"strings"
)

// The guest's network, for the tests that run inside the VM: real servers
// live in network namespaces of their own, joined to the director's by
// veth pairs. These helpers run iproute2's ip, which the initramfs carries;
// busybox's ip applet lacks netns, so it is called by its full path.

// ipPath is iproute2's ip in the guest.
const ipPath = "/usr/sbin/ip"

// IP runs iproute2's ip with args; the error carries its output.
func IP(args ...string) error {
	if out, err := exec.Command(ipPath, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// Peer is a network namespace joined to the caller's by a veth pair.
type Peer struct {
	NS string // the namespace
	// Host is the pair's end on the caller's side, HostAddr its address
	// (CIDR; none if empty, for an end that joins a bridge); PeerDev and
	// PeerAddr, the end in NS.
	Host, HostAddr, PeerDev, PeerAddr string
}

// Add makes the namespace and the pair, addresses both ends and brings
// them (and the namespace's lo) up.
func (p Peer) Add() error {
	for _, args := range [][]string{
		{"netns", "add", p.NS},
		{"link", "add", p.Host, "type", "veth", "peer", "name", p.PeerDev},
		{"link", "set", p.PeerDev, "netns", p.NS},
		{"addr", "add", p.HostAddr, "dev", p.Host},
		{"link", "set", p.Host, "up"},
		{"-n", p.NS, "addr", "add", p.PeerAddr, "dev", p.PeerDev},
		{"-n", p.NS, "link", "set", p.PeerDev, "up"},
		{"-n", p.NS, "link", "set", "lo", "up"},
	} {
		if p.HostAddr == "" && args[0] == "addr" {
			continue
		}
		if err := IP(args...); err != nil {
			return err
		}
	}
	return nil
}

// Del deletes the pair and the namespace. The pair goes first: the
// kernel tears a namespace down later, in the background, and a pair
// left to go with it may still hold its name when the next Add comes.
func (p Peer) Del() error {
	IP("link", "del", p.Host)
	return IP("netns", "del", p.NS)
}
