package gateway

// MaxLinkHops exposes maxLinkHops to the external tests.
const MaxLinkHops = maxLinkHops
