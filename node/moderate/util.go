package moderate

import (
	"math/rand/v2"
	"strings"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/metadata"
	"github.com/myconet/myconet/node/internal/svc"
)

const (
	// closestLookupTimeout bounds one DHT lookup (aggregators, holders).
	closestLookupTimeout = 30 * time.Second
	// maxProviders bounds the holders a retraction is pushed to.
	maxProviders = 16
)

// loadPackage reads and decodes package c's root, if the store holds it.
func (m *Service) loadPackage(c cid.Cid) (*metadata.Package, error) {
	pkg, _, err := svc.PackageRoot(m.db, c)
	return pkg, err
}

// jitter spreads d by ±25%.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.75 + rand.Float64()/2))
}

// oneLine folds a message onto one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}
