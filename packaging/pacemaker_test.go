package packaging

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The Pacemaker configuration of the manual's TWO DIRECTORS, checked with
// Pacemaker's own tools and no cluster: the crm text is read from the
// manual and made into the configuration of a CIB of two nodes, which
// crm_verify must accept and crm_simulate runs through a start, the
// failure of the node holding the address, and failures of our daemon.

// TestPacemakerPair: the manual's configuration is valid; the address
// starts only after our daemon (order), on a node where it runs
// (colocation, also where our daemon cannot run on the other node); a node failure moves the address to the survivor, where our
// daemon already runs and is not touched (warm standby); our daemon failing
// where the address is takes the address down first and back after; our
// daemon failing on the standby leaves the address alone.
func TestPacemakerPair(t *testing.T) {
	need(t, "crm_verify", "pacemaker-cli-utils")
	need(t, "crm_simulate", "pacemaker-cli-utils")
	need(t, "crm_mon", "pacemaker-cli-utils")
	crm := manualCRM(t)
	dir := t.TempDir()
	base := filepath.Join(dir, "cib.xml")
	if err := os.WriteFile(base, pairCIB(t, crm), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := run(t, nil, "crm_verify", "-V", "-x", base); code != 0 || strings.TrimSpace(out) != "" {
		t.Fatalf("crm_verify refuses the manual's configuration (exit %d):\n%s\n%s", code, out, crm)
	}

	// The cluster starts: our daemon on both nodes, the address on one,
	// after our daemon.
	up := simulate(t, base, "up")
	st := clusterState(t, up.cib)
	ip := st.on("vip")
	if len(ip) != 1 || !slices.Equal(st.on("ldirectord"), []string{"director-a", "director-b"}) {
		t.Fatalf("after the start: vip on %v, ldirectord on %v; want the address on one node, our daemon on both\n%s", ip, st.on("ldirectord"), up.out)
	}
	active, standby := ip[0], map[string]string{"director-a": "director-b", "director-b": "director-a"}[ip[0]]
	if in := up.graph.inputs("vip", "start", active); !slices.Contains(in, "ldirectord-clone_running_0") {
		t.Errorf("the address starts without waiting for our daemon (order): its inputs are %v", in)
	}

	// The active node fails: the address moves; our daemon on the
	// survivor runs already and is neither stopped nor started.
	fail := simulate(t, up.cib, "fail", "--node-fail", active)
	st = clusterState(t, fail.cib)
	if got := st.on("vip"); !slices.Equal(got, []string{standby}) {
		t.Errorf("after %s failed the address is on %v, want %s\n%s", active, got, standby, fail.out)
	}
	if got := st.on("ldirectord"); !slices.Equal(got, []string{standby}) {
		t.Errorf("after %s failed our daemon runs on %v, want %s", active, got, standby)
	}
	for _, op := range []string{"start", "stop"} {
		if fail.graph.has("ldirectord", op, standby) {
			t.Errorf("the failover does %s our daemon on the survivor %s: it is not warm\n%s", op, standby, fail.out)
		}
	}
	if !fail.graph.has("vip", "start", standby) {
		t.Errorf("the failover does not start the address on %s\n%s", standby, fail.out)
	}

	// Our daemon cannot run on director-a: the address goes where it
	// runs (colocation), though director-a would do for it alone.
	banned := filepath.Join(dir, "banned.xml")
	ban := `<rsc_location id="test-ldirectord-not-on-a" rsc="ldirectord-clone" node="director-a" score="-INFINITY"/>`
	if err := os.WriteFile(banned, pairCIB(t, crm, ban), 0o644); err != nil {
		t.Fatal(err)
	}
	bup := simulate(t, banned, "banned-up")
	st = clusterState(t, bup.cib)
	if got := st.on("vip"); !slices.Equal(got, []string{"director-b"}) || !slices.Equal(st.on("ldirectord"), []string{"director-b"}) {
		t.Errorf("with our daemon kept off director-a: the address on %v, our daemon on %v; want both on director-b\n%s", got, st.on("ldirectord"), bup.out)
	}

	// Our daemon fails where the address is: the address goes first and
	// comes back after it (order), on the same node (colocation).
	rec := simulate(t, up.cib, "recover", "--op-inject", "ldirectord_monitor_20000@"+active+"=7")
	steps := rec.executed()
	at := func(s string) int {
		i := slices.Index(steps, s)
		if i < 0 {
			t.Fatalf("the recovery has no %q:\n%s", s, rec.out)
		}
		return i
	}
	if !(at("vip stop on "+active) < at("ldirectord stop on "+active) &&
		at("ldirectord stop on "+active) < at("ldirectord start on "+active) &&
		at("ldirectord start on "+active) < at("vip start on "+active)) {
		t.Errorf("the recovery of our daemon on %s is not address down, daemon restarted, address up:\n%s", active, rec.out)
	}

	// Our daemon fails on the standby: it is recovered there, the address
	// is left alone.
	rec = simulate(t, up.cib, "standby", "--op-inject", "ldirectord_monitor_20000@"+standby+"=7")
	if !rec.graph.has("ldirectord", "start", standby) || rec.graph.has("vip", "stop", active) {
		t.Errorf("a failure of our daemon on the standby %s: want it restarted there and the address left alone\n%s", standby, rec.out)
	}
}

// manualCRM is the crm configuration of the manual's TWO DIRECTORS: the
// indented block that begins with "primitive".
func manualCRM(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root(t), "docs", "ldirectord.8.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n# TWO DIRECTORS\n")
	if !ok {
		t.Fatal("the manual has no TWO DIRECTORS section")
	}
	section, _, _ = strings.Cut(section, "\n# ")
	var block []string
	for _, l := range strings.Split(section, "\n") {
		switch {
		case len(block) == 0 && strings.HasPrefix(l, "    primitive "):
			block = append(block, l[4:])
		case len(block) > 0 && strings.HasPrefix(l, "    "):
			block = append(block, l[4:])
		case len(block) > 0:
			return strings.Join(block, "\n") + "\n"
		}
	}
	t.Fatal("TWO DIRECTORS has no crm configuration (an indented block that begins with primitive)")
	return ""
}

// pairCIB is a CIB of two nodes, director-a and director-b, both online
// with nothing running, configured as crm says, with fencing off and
// quorum ignored (the manual leaves the cluster's own properties out), and
// the extra constraints of the test.
func pairCIB(t *testing.T, crm string, extra ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString(`<cib validate-with="pacemaker-3.0" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="opt-stonith-enabled" name="stonith-enabled" value="false"/>
        <nvpair id="opt-no-quorum-policy" name="no-quorum-policy" value="ignore"/>
      </cluster_property_set>
    </crm_config>
    <nodes>
      <node id="1" uname="director-a"/>
      <node id="2" uname="director-b"/>
    </nodes>
`)
	res, cons := crmToXML(t, crm)
	b.WriteString("    <resources>\n" + res + "    </resources>\n")
	for _, x := range extra {
		cons += "      " + x + "\n"
	}
	b.WriteString("    <constraints>\n" + cons + "    </constraints>\n")
	b.WriteString(`  </configuration>
  <status>
    <node_state id="1" uname="director-a" in_ccm="true" crmd="online" join="member" expected="member"><lrm id="1"><lrm_resources/></lrm></node_state>
    <node_state id="2" uname="director-b" in_ccm="true" crmd="online" join="member" expected="member"><lrm id="2"><lrm_resources/></lrm></node_state>
  </status>
</cib>
`)
	return b.Bytes()
}

// crmToXML makes the CIB's resources and constraints of the crm commands
// the manual uses: primitive (params, meta, op), clone, colocation and
// order. Anything else fails the test, so that the manual cannot say more
// than is checked.
func crmToXML(t *testing.T, crm string) (resources, constraints string) {
	t.Helper()
	prims := map[string]string{}
	var order []string
	for _, cmd := range strings.Split(strings.ReplaceAll(crm, "\\\n", " "), "\n") {
		w := strings.Fields(cmd)
		if len(w) == 0 {
			continue
		}
		switch {
		case w[0] == "primitive" && len(w) >= 3:
			prims[w[1]] = primitiveXML(t, w[1], w[2], w[3:])
			order = append(order, w[1])
		case w[0] == "clone" && len(w) >= 3:
			child, ok := prims[w[2]]
			if !ok {
				t.Fatalf("crm: clone %s of %s, which is not a primitive above it", w[1], w[2])
			}
			delete(prims, w[2])
			order = slices.DeleteFunc(order, func(s string) bool { return s == w[2] })
			x := fmt.Sprintf("      <clone id=%q>\n", w[1])
			if len(w) > 3 {
				if w[3] != "meta" {
					t.Fatalf("crm: clone %s: %q", w[1], strings.Join(w[3:], " "))
				}
				x += nvpairs(t, "meta_attributes", w[1]+"-meta", w[4:], "        ")
			}
			prims[w[1]] = x + indentXML(child) + "      </clone>\n"
			order = append(order, w[1])
		case w[0] == "colocation" && len(w) == 5 && strings.HasSuffix(w[2], ":"):
			score := strings.TrimSuffix(w[2], ":")
			if score == "inf" {
				score = "INFINITY"
			}
			constraints += fmt.Sprintf("      <rsc_colocation id=%q rsc=%q with-rsc=%q score=%q/>\n", w[1], w[3], w[4], score)
		case w[0] == "order" && len(w) == 5 && strings.HasSuffix(w[2], ":"):
			constraints += fmt.Sprintf("      <rsc_order id=%q first=%q then=%q kind=%q/>\n", w[1], w[3], w[4], strings.TrimSuffix(w[2], ":"))
		default:
			t.Fatalf("crm: the test does not read %q", cmd)
		}
	}
	for _, id := range order {
		resources += prims[id]
	}
	return resources, constraints
}

// primitiveXML: primitive ID CLASS:PROVIDER:TYPE [params K=V...] [meta
// K=V...] [op NAME K=V...]...
func primitiveXML(t *testing.T, id, agent string, rest []string) string {
	t.Helper()
	parts := strings.Split(agent, ":")
	if len(parts) != 3 {
		t.Fatalf("crm: primitive %s: agent %q is not class:provider:type", id, agent)
	}
	x := fmt.Sprintf("      <primitive id=%q class=%q provider=%q type=%q>\n", id, parts[0], parts[1], parts[2])
	var ops string
	for len(rest) > 0 {
		n := 1
		for n < len(rest) && strings.Contains(rest[n], "=") {
			n++
		}
		switch {
		case rest[0] == "params":
			x += nvpairs(t, "instance_attributes", id+"-params", rest[1:n], "        ")
		case rest[0] == "meta":
			x += nvpairs(t, "meta_attributes", id+"-meta", rest[1:n], "        ")
		case rest[0] == "op" && n < len(rest) && !strings.Contains(rest[1], "="):
			// op NAME K=V...: the name is not a K=V.
			n = 2
			for n < len(rest) && strings.Contains(rest[n], "=") {
				n++
			}
			attrs := ""
			interval := "0"
			for _, kv := range rest[2:n] {
				k, v, _ := strings.Cut(kv, "=")
				attrs += fmt.Sprintf(" %s=%q", k, v)
				if k == "interval" {
					interval = v
				}
			}
			ops += fmt.Sprintf("          <op id=%q name=%q%s/>\n", id+"-"+rest[1]+"-"+interval, rest[1], attrs)
		default:
			t.Fatalf("crm: primitive %s: the test does not read %q", id, strings.Join(rest, " "))
		}
		rest = rest[n:]
	}
	if ops != "" {
		x += "        <operations>\n" + ops + "        </operations>\n"
	}
	return x + "      </primitive>\n"
}

func nvpairs(t *testing.T, tag, id string, kvs []string, indent string) string {
	t.Helper()
	x := fmt.Sprintf("%s<%s id=%q>\n", indent, tag, id)
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Fatalf("crm: %q is not NAME=VALUE", kv)
		}
		x += fmt.Sprintf("%s  <nvpair id=%q name=%q value=%q/>\n", indent, id+"-"+k, k, v)
	}
	return x + fmt.Sprintf("%s</%s>\n", indent, tag)
}

// indentXML indents lines of XML one level more.
func indentXML(x string) string {
	return strings.TrimSuffix("  "+strings.ReplaceAll(x, "\n", "\n  "), "  ")
}

// simulation is one run of crm_simulate: what it printed, the CIB it
// left and the transition graph it ran.
type simulation struct {
	out   string
	cib   string
	graph graph
}

func simulate(t *testing.T, cib, name string, args ...string) simulation {
	t.Helper()
	dir := filepath.Dir(cib)
	s := simulation{cib: filepath.Join(dir, name+".xml")}
	g := filepath.Join(dir, name+"-graph.xml")
	out, code := run(t, nil, "crm_simulate", append([]string{"-S", "-x", cib, "-O", s.cib, "-G", g}, args...)...)
	s.out = out
	if code != 0 || strings.Contains(out, "error") {
		t.Fatalf("crm_simulate %s (exit %d):\n%s", strings.Join(args, " "), code, out)
	}
	b, err := os.ReadFile(g)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(b, &s.graph); err != nil {
		t.Fatalf("the transition graph: %v", err)
	}
	return s
}

// executed is what crm_simulate did, in order, as "RSC OP on NODE" (the
// clone instances' numbers taken away).
func (s simulation) executed() []string {
	_, rest, _ := strings.Cut(s.out, "Executing Cluster Transition:")
	rest, _, _ = strings.Cut(rest, "Revised Cluster Status:")
	var out []string
	for _, l := range strings.Split(rest, "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "* Resource action:"))
		if len(f) == 4 && f[2] == "on" && strings.HasPrefix(strings.TrimSpace(l), "* Resource action:") {
			rsc, _, _ := strings.Cut(f[0], ":")
			out = append(out, rsc+" "+f[1]+" on "+f[3])
		}
	}
	return out
}

// graph is crm_simulate's transition graph, as much as the test reads.
type graph struct {
	Synapses []struct {
		Actions []graphAction `xml:"action_set>rsc_op"`
		Inputs  []struct {
			Pseudo []graphAction `xml:"pseudo_event"`
			Rsc    []graphAction `xml:"rsc_op"`
		} `xml:"inputs>trigger"`
	} `xml:"synapse"`
}

type graphAction struct {
	Key       string `xml:"operation_key,attr"`
	Operation string `xml:"operation,attr"`
	Node      string `xml:"on_node,attr"`
	Primitive struct {
		ID     string `xml:"id,attr"`
		LongID string `xml:"long-id,attr"`
	} `xml:"primitive"`
}

func (a graphAction) is(rsc, op, node string) bool {
	id, _, _ := strings.Cut(a.Primitive.ID, ":")
	return id == rsc && a.Operation == op && a.Node == node
}

// has says whether the graph does op to rsc on node.
func (g graph) has(rsc, op, node string) bool {
	for _, s := range g.Synapses {
		for _, a := range s.Actions {
			if a.is(rsc, op, node) {
				return true
			}
		}
	}
	return false
}

// inputs are the keys of the actions that op of rsc on node waits for.
func (g graph) inputs(rsc, op, node string) []string {
	var out []string
	for _, s := range g.Synapses {
		if !slices.ContainsFunc(s.Actions, func(a graphAction) bool { return a.is(rsc, op, node) }) {
			continue
		}
		for _, in := range s.Inputs {
			for _, a := range append(in.Pseudo, in.Rsc...) {
				out = append(out, a.Key)
			}
		}
	}
	return out
}

// state is where crm_mon says each resource is started.
type state map[string][]string

func (s state) on(rsc string) []string { return s[rsc] }

func clusterState(t *testing.T, cib string) state {
	t.Helper()
	out, code := run(t, []string{"CIB_file=" + cib}, "crm_mon", "-1", "--output-as=xml")
	if code != 0 {
		t.Fatalf("crm_mon on %s (exit %d):\n%s", cib, code, out)
	}
	var mon struct {
		Resources []monResource `xml:"resources>resource"`
		Clones    []struct {
			Resources []monResource `xml:"resource"`
		} `xml:"resources>clone"`
	}
	if err := xml.Unmarshal([]byte(out), &mon); err != nil {
		t.Fatalf("crm_mon's XML: %v\n%s", err, out)
	}
	st := state{}
	all := mon.Resources
	for _, c := range mon.Clones {
		all = append(all, c.Resources...)
	}
	for _, r := range all {
		if r.Role != "Started" {
			continue
		}
		for _, n := range r.Nodes {
			st[r.ID] = append(st[r.ID], n.Name)
		}
	}
	for id := range st {
		slices.Sort(st[id])
	}
	return st
}

type monResource struct {
	ID    string `xml:"id,attr"`
	Role  string `xml:"role,attr"`
	Nodes []struct {
		Name string `xml:"name,attr"`
	} `xml:"node"`
}
