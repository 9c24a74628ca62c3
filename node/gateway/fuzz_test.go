package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/mri"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/httpx"
)

// linkSource is a gatewaySource in which every path is a symlink to target,
// except paths ending in "f" (a file): the worst case for followLinks.
type linkSource struct{ target string }

func (s linkSource) Stat(_ context.Context, ref string) (apitype.PathStat, error) {
	m, err := mri.Parse(ref)
	if err != nil {
		return apitype.PathStat{}, apitype.Wrap(apitype.CodeInvalid, err)
	}
	if m.Path == "" || strings.HasSuffix(m.Path, "f") {
		return apitype.PathStat{Type: "dir", Package: m.Root, Content: m.Root, CID: m.Root}, nil
	}
	return apitype.PathStat{Type: "symlink", Target: s.target}, nil
}
func (s linkSource) OpenFile(context.Context, string) (apitype.ReadSeekCloser, apitype.PathStat, error) {
	return nil, apitype.PathStat{}, apitype.Errorf(apitype.CodeNotFound, "no file")
}
func (s linkSource) Ls(context.Context, string) ([]apitype.Entry, error) { return nil, nil }
func (s linkSource) Pins(context.Context) ([]apitype.PinInfo, error)     { return nil, nil }

// FuzzGatewayRequest feeds the gateway arbitrary hosts, paths and symlink
// targets: it must answer (never panic or loop), redirect only to a
// package origin on loopback or within the same origin, and never serve a
// path outside the package.
func FuzzGatewayRequest(f *testing.F) {
	const pkg = "bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
	for _, s := range [][3]string{
		{pkg + ".localhost:8190", "/a/b", "../f"},
		{pkg + ".myco.localhost:8190", "/x?q=1", "/etc/passwd"},
		{"127.0.0.1:8190", "/myco/" + pkg + "/a%2Fb", "."},
		{"localhost", "/myco/" + pkg, "a/../../f"},
		{"[::1]:1", "/myco/zdj7W/", "a"},
		{"Q.localhost", "/%zz", "../../.."},
		{"evil.example", "/", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, host, rawPath, target string) {
		if !strings.HasPrefix(rawPath, "/") || strings.ContainsAny(rawPath+host, " \r\n\t#") {
			return
		}
		g := &gateway{src: linkSource{target}, log: slog.New(slog.DiscardHandler)}
		req := httptest.NewRequest("GET", "http://127.0.0.1/", nil)
		req.Host = host
		u, err := req.URL.Parse(rawPath)
		if err != nil {
			return
		}
		req.URL = u
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		if rec.Code == 0 {
			t.Fatal("no answer")
		}
		if loc := rec.Header().Get("Location"); rec.Code == http.StatusMovedPermanently {
			if strings.HasPrefix(loc, "http://") {
				h := httpx.Hostname(strings.SplitN(strings.TrimPrefix(loc, "http://"), "/", 2)[0])
				label, ok := strings.CutSuffix(h, gatewaySuffix)
				if c, err := cid.Decode(label); !ok || err != nil || subdomainLabel(c) != label {
					t.Fatalf("redirect to %q", loc)
				}
			} else if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") {
				t.Fatalf("redirect to %q", loc)
			}
		}
	})
}
