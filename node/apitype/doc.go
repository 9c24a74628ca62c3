// Package apitype is the vocabulary every speaker of a node's API shares: the
// API interface, its request and answer types, the error codes that survive
// the HTTP round trip, the units of quotas, and the wire details of the HTTP
// API (paths, headers, NDJSON lines). *node.Node implements API in-process,
// node/httpapi serves it, node/client speaks it, node/webui renders it.
//
// It imports nothing of Myconet's, so every package may import it.
package apitype
