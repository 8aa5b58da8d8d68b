package ipvsadm

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ldirectord-go/ldirectord/kernel"
)

func TestParseArgs(t *testing.T) {
	web := kernel.Service{Protocol: "tcp", Addr: addr("127.0.0.1"), Port: 80, Scheduler: "wrr", NetmaskBits: 32}
	for _, tc := range []struct {
		line string
		want Command
	}{
		{"", Command{Op: OpList}},
		{"-L -n", Command{Op: OpList, Numeric: true}},
		{"-Ln --thresholds", Command{Op: OpList, Numeric: true, Thresholds: true}},
		// The command lines below are the ones the Perl ldirectord writes.
		{"-A -t 127.0.0.1:80 -s wrr ", Command{Op: OpAddService, HasService: true, Service: web}},
		{"-E -t 127.0.0.1:80 -s wrr -p 300 -M 255.255.255.0 ", Command{Op: OpEditService, HasService: true,
			Service: kernel.Service{Protocol: "tcp", Addr: addr("127.0.0.1"), Port: 80, Scheduler: "wrr", Persistent: 300, NetmaskBits: 24}}},
		{"-A -u [2001:db8::1]:53 -o -s sh -p -b sh-port,flag-1", Command{Op: OpAddService, HasService: true,
			Service: kernel.Service{Protocol: "udp", Addr: addr("2001:db8::1"), Port: 53, IPv6: true, Scheduler: "sh",
				Persistent: 300, NetmaskBits: 128, OnePacket: true, Flags: []string{"sh-fallback", "sh-port"}}}},
		{"-A -f 7 -6 -s rr -p 60 -M 64", Command{Op: OpAddService, HasService: true,
			Service: kernel.Service{FWMark: 7, IPv6: true, Scheduler: "rr", Persistent: 60, NetmaskBits: 64}}},
		{"-A -t 127.0.0.1:80", Command{Op: OpAddService, HasService: true,
			Service: kernel.Service{Protocol: "tcp", Addr: addr("127.0.0.1"), Port: 80, Scheduler: "wlc", NetmaskBits: 32}}},
		{"-D -t 127.0.0.1:80", Command{Op: OpDelService, HasService: true,
			Service: kernel.Service{Protocol: "tcp", Addr: addr("127.0.0.1"), Port: 80, Scheduler: "wlc", NetmaskBits: 32}}},
		{"-a -t 127.0.0.1:80 -s wrr -x 0 -y 0 -r 127.0.0.2:80 -m -w 5", Command{}}, // illegal -s with -a: checked below
		{"-a -t 127.0.0.1:80 -x 10 -y 2 -r 127.0.0.2:8080 -m -w 5", Command{Op: OpAddDest, HasService: true,
			Service: kernel.Service{Protocol: "tcp", Addr: addr("127.0.0.1"), Port: 80, Scheduler: "wlc", NetmaskBits: 32},
			Dest:    kernel.Destination{Addr: addr("127.0.0.2"), Port: 8080, Method: kernel.Masq, Weight: 5, Upper: 10, Lower: 2}}},
		// Direct routing and tunnelling force the service's port.
		{"-e -t 127.0.0.1:80 -r 127.0.0.2:8080 -g -w 0", Command{Op: OpEditDest, HasService: true,
			Service: kernel.Service{Protocol: "tcp", Addr: addr("127.0.0.1"), Port: 80, Scheduler: "wlc", NetmaskBits: 32},
			Dest:    kernel.Destination{Addr: addr("127.0.0.2"), Port: 80, Method: kernel.Gate, Weight: 0}}},
		{"-a -t 127.0.0.1:80 -r 127.0.0.9 -i", Command{Op: OpAddDest, HasService: true,
			Service: kernel.Service{Protocol: "tcp", Addr: addr("127.0.0.1"), Port: 80, Scheduler: "wlc", NetmaskBits: 32},
			Dest:    kernel.Destination{Addr: addr("127.0.0.9"), Port: 80, Method: kernel.IPIP, Weight: 1}}},
		{"-d -t 127.0.0.1:80 -r 127.0.0.2:8080", Command{Op: OpDelDest, HasService: true,
			Service: kernel.Service{Protocol: "tcp", Addr: addr("127.0.0.1"), Port: 80, Scheduler: "wlc", NetmaskBits: 32},
			Dest:    kernel.Destination{Addr: addr("127.0.0.2"), Port: 8080, Method: kernel.Gate, Weight: 1}}},
		{"-d -f 3 -r 10.1.1.1", Command{Op: OpDelDest, HasService: true,
			Service: kernel.Service{FWMark: 3, Scheduler: "wlc", NetmaskBits: 32},
			Dest:    kernel.Destination{Addr: addr("10.1.1.1"), Method: kernel.Gate, Weight: 1}}},
		{"--add-server --fwmark-service 3 --real-server [::1]:81 --masquerading --weight 2", Command{Op: OpAddDest, HasService: true,
			Service: kernel.Service{FWMark: 3, Scheduler: "wlc", NetmaskBits: 32},
			Dest:    kernel.Destination{Addr: addr("::1"), Port: 81, Method: kernel.Masq, Weight: 2}}},
		{"-C", Command{Op: OpClear}},
	} {
		got, err := ParseArgs(strings.Fields(tc.line))
		if strings.Contains(tc.line, "-s wrr -x") {
			if err == nil || !strings.Contains(err.Error(), "Illegal 'scheduler' option with the 'add-server' command") {
				t.Errorf("ParseArgs(%q) error = %v, want the illegal-option message", tc.line, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseArgs(%q): %v", tc.line, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseArgs(%q)\n got %+v\nwant %+v", tc.line, got, tc.want)
		}
	}
}

func TestParseArgsErrors(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"-A -D -t 1.2.3.4:80", "multiple commands specified"},
		{"-t 1.2.3.4:80", "no command specified"},
		{"-A -t 1.2.3.4:80 -t 1.2.3.4:81", "multiple 'service-address' options specified"},
		{"-A", "You need to supply the 'service-address' option for the 'add-service' command"},
		{"-a -t 1.2.3.4:80", "You need to supply the 'real-server' option for the 'add-server' command"},
		{"-A -t 1.2.3.4:80 -w 1", "Illegal 'weight' option with the 'add-service' command"},
		{"-d -t 1.2.3.4:80 -r 1.2.3.5 -w 1", "Illegal 'weight' option with the 'delete-server' command"},
		{"-A -t 1.2.3.4", "Zero port specified for non-persistent service"},
		{"-A -t www:80", "illegal virtual server address[:port] specified"},
		{"-A -f 0", "invalid fwmark value `0' specified"},
		{"-A -t 1.2.3.4:80 -p 0", "invalid timeout value `0' specified"},
		{"-A -t 1.2.3.4:80 -p 1 -M 255.0.255.0", "illegal virtual server persistent mask specified"},
		{"-A -t [::1]:80 -p 1 -M 129", "illegal ipv6 netmask specified"},
		{"-A -t 1.2.3.4:80 -s rr -b sh-port", "incompatible scheduler flag `sh-port'"},
		{"-A -t 1.2.3.4:80 -b fast", "invalid scheduler flag `fast'"},
		// ldirectord writes "-r :0" for a firewall-mark fallback without
		// an address; ipvsadm refuses it.
		{"-a -f 1 -r :0 -g -w 1", "illegal real server address[:port] specified"},
		{"-a -t 1.2.3.4:80 -r 1.2.3.5 -w 70000", "illegal weight specified"},
		{"-a -t 1.2.3.4:80 -r 1.2.3.5 -x -1", "illegal u_threshold specified"},
		{"-a -t 1.2.3.4:80 -r 1.2.3.5 -w", "option `-w' requires an argument"},
		{"-L --stats", "invalid option `--stats'"},
		{"-R", "not supported"},
	} {
		_, err := ParseArgs(strings.Fields(tc.line))
		var ie *Error
		if !errors.As(err, &ie) || ie.Status != StatusUsage || !strings.Contains(ie.Message, tc.want) {
			t.Errorf("ParseArgs(%q) error = %v, want status 2 and message containing %q", tc.line, err, tc.want)
		}
	}
}

func run(t *testing.T, tab kernel.Table, line string) error {
	t.Helper()
	c, err := ParseArgs(strings.Fields(line))
	if err != nil {
		t.Fatalf("ParseArgs(%q): %v", line, err)
	}
	return c.Apply(tab)
}

func TestApply(t *testing.T) {
	tab := kernel.NewMemory()
	for _, line := range []string{
		"-A -t 127.0.0.1:80 -s wrr",
		"-a -t 127.0.0.1:80 -r 127.0.0.2:80 -m -w 1",
		"-a -t 127.0.0.1:80 -x 9 -y 3 -r 127.0.0.3:80 -m -w 2",
		"-A -f 1 -s rr -p 60",
		"-a -f 1 -r 127.0.0.4 -g -w 1",
		"-e -t 127.0.0.1:80 -r 127.0.0.2:80 -m -w 0",
		"-E -t 127.0.0.1:80 -s wlc",
		"-d -f 1 -r 127.0.0.4",
		"-a -t 127.0.0.1:80 -r 127.0.0.5:8080 -m",
		"-d -t 127.0.0.1:80 -r 127.0.0.5:8080",
	} {
		if err := run(t, tab, line); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
	vs, _ := tab.List()
	want := "IP Virtual Server version 1.2.1 (size=4096)\n" +
		"Prot LocalAddress:Port Scheduler Flags\n" +
		"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n" +
		"TCP  127.0.0.1:80 wlc\n" +
		"  -> 127.0.0.2:80" + sp(17) + "Masq" + sp(4) + "0" + sp(6) + "0" + sp(10) + "0" + sp(9) + "\n" +
		"  -> 127.0.0.3:80" + sp(17) + "Masq" + sp(4) + "2" + sp(6) + "0" + sp(10) + "0" + sp(9) + "\n" +
		"FWM  1 rr persistent 60\n"
	if got := Format(vs, false); got != want {
		t.Errorf("table after the commands:\n%s\nwant:\n%s", show(got), show(want))
	}
	if vs[0].Destinations[1].Upper != 9 || vs[0].Destinations[1].Lower != 3 {
		t.Errorf("thresholds of 127.0.0.3:80 = %d/%d, want 9/3", vs[0].Destinations[1].Upper, vs[0].Destinations[1].Lower)
	}

	for _, tc := range []struct{ line, want string }{
		{"-A -t 127.0.0.1:80", "Service already exists"},
		{"-A -t 127.0.0.1:81 -s fastest", "Scheduler or persistence engine not found"},
		{"-E -t 127.0.0.1:81", "No such service"},
		{"-D -t 127.0.0.1:81", "No such service"},
		{"-a -t 127.0.0.1:81 -r 127.0.0.2", "Service not defined"},
		{"-a -t 127.0.0.1:80 -r 127.0.0.2 -m", "Destination already exists"},
		{"-e -t 127.0.0.1:80 -r 127.0.0.9 -m", "No such destination"},
		{"-e -t 127.0.0.1:81 -r 127.0.0.9 -m", "Service not defined"},
		{"-d -t 127.0.0.1:80 -r 127.0.0.9", "No such destination"},
		{"-d -f 9 -r 127.0.0.9", "Service not defined"},
		// The kernel refuses a lower threshold above the upper one, even
		// when the upper one is 0 (none): ERANGE.
		{"-a -t 127.0.0.1:80 -r 127.0.0.5 -m -y 5", "Numerical result out of range"},
	} {
		err := run(t, tab, tc.line)
		var ie *Error
		if !errors.As(err, &ie) || ie.Status != StatusTable || ie.Message != tc.want {
			t.Errorf("%s: error = %v, want status 255 and %q", tc.line, err, tc.want)
		}
	}

	if err := run(t, tab, "-C"); err != nil {
		t.Fatalf("-C: %v", err)
	}
	if vs, _ := tab.List(); len(vs) != 0 {
		t.Errorf("after -C the table has %d services, want none", len(vs))
	}
}

func FuzzParseArgs(f *testing.F) {
	for _, s := range []string{
		"-A -t 127.0.0.1:80 -s wrr -p 300 -M 255.255.255.0 -b flag-1",
		"-a -t 127.0.0.1:80 -x 0 -y 0 -r 127.0.0.2:8080 -m -w 1",
		"-e -f 1 -6 -r [::1]:80 -i -w 0",
		"-Ln --thresholds",
		"-d -u [::1]:53 -r [::2]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, err := ParseArgs(strings.Fields(line))
		if err != nil {
			var ie *Error
			if !errors.As(err, &ie) || ie.Status != StatusUsage {
				t.Fatalf("ParseArgs(%q) error %v is not a usage *Error", line, err)
			}
			return
		}
		// Whatever parses can be applied; failures are ipvsadm's.
		tab := kernel.NewMemory()
		if err := c.Apply(tab); err != nil {
			var ie *Error
			if !errors.As(err, &ie) || ie.Message == "" {
				t.Fatalf("Apply of %q: %v is not an *Error with a message", line, err)
			}
		}
	})
}
