package demo

import (
	"strconv"
	"strings"

	"github.com/ldirectord-go/ldirectord/internal/ipvsadm"
	"github.com/ldirectord-go/ldirectord/kernel"
)

// linePrefix starts every guest line meant for the host.
const linePrefix = "@demo "

// Event is one thing the guest script reported.
type Event struct {
	// Kind is say, conf, note, table, answer, reached, log, fail or done.
	Kind string
	// Text is the line after its kind; for a table, the whole listing.
	Text string
	// At is the guest's uptime in seconds when a table was read.
	At float64
	// Table is a table event's listing parsed; TableErr why it could not be.
	Table    []kernel.Virtual
	TableErr error
}

// parser turns guest lines into events; a table spans several lines.
type parser struct {
	table *Event
	rows  []string
}

// line takes one console line and returns the event it completes, if any.
func (p *parser) line(l string) (Event, bool) {
	rest, ok := strings.CutPrefix(strings.TrimRight(l, "\r"), linePrefix)
	if !ok {
		return Event{}, false
	}
	kind, text, _ := strings.Cut(rest, " ")
	switch kind {
	case "table":
		at, _ := strconv.ParseFloat(strings.TrimSpace(text), 64)
		p.table, p.rows = &Event{Kind: "table", At: at}, nil
		return Event{}, false
	case "row":
		if p.table != nil {
			p.rows = append(p.rows, text)
		}
		return Event{}, false
	case "end":
		if p.table == nil {
			return Event{}, false
		}
		e := *p.table
		e.Text = strings.Join(p.rows, "\n") + "\n"
		e.Table, e.TableErr = ipvsadm.Parse(e.Text)
		p.table = nil
		return e, true
	}
	return Event{Kind: kind, Text: text}, true
}

// parseEvents reads the events out of the guest's whole output.
func parseEvents(out string) []Event {
	var p parser
	var evs []Event
	for _, l := range strings.Split(out, "\n") {
		if e, ok := p.line(l); ok {
			evs = append(evs, e)
		}
	}
	return evs
}
