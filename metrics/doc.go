// Package metrics owns what the daemon shows Prometheus: the metric names,
// their labels and units, the collector that turns a plan.Inspection into
// per-real-server series at scrape time, the actors.Observer that counts
// checks, table writes, drift repairs and the admission gate as they
// happen, the record of the configurations loaded, and the HTTP endpoint
// that serves /metrics at the address of the metrics directive.
//
// Cardinality stays bounded at tens of thousands of real servers: per-real
// series come only from the collector, one per real and family (its state
// is one series with the state as a label, not one per state); what is
// counted as it happens is labelled by virtual service and check kind at
// most, and a check's reason by a small fixed class. The kernel's own
// per-destination counters (connections, packets, bytes) are left to
// node_exporter's ipvs collector, which reads them from the same table.
package metrics
