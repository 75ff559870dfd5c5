// Package indicator holds chiso's domain model: administrative units,
// indicators and their rollup rules, periods, observations with provenance,
// sources, the query inputs the API accepts, and the error kinds every layer
// shares. It depends on the standard library only; the store implements the
// Engine interface declared here and the GraphQL layer consumes it.
package indicator
