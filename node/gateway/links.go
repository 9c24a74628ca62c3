package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"

	"github.com/ipfs/go-cid"
	"github.com/myconet/myconet/mri"
	"github.com/myconet/myconet/node/apitype"
)

// maxLinkHops bounds the symlinks followed for one request, as Linux's
// MAXSYMLINKS (40) bounds path resolution: beyond it the path loops.
const maxLinkHops = 40

// errNoLink is followLinks' answer when no symlink lies on the path: the
// caller's own error stands.
var errNoLink = errors.New("no symlink on the path")

// followLinks resolves segs inside package root, replacing each symlink met
// on the way by its target, read relative to the link's directory. It
// answers errNoLink if the path holds no symlink, and a 404 naming the link
// if one leaves the package (an absolute target, or one above the root),
// dangles, or loops.
func (g *gateway) followLinks(ctx context.Context, root cid.Cid, segs []string) ([]string, apitype.PathStat, error) {
	queue := append([]string(nil), segs...)
	var cur []string
	var st apitype.PathStat
	hops := 0
	for len(queue) > 0 {
		cur, queue = append(cur, queue[0]), queue[1:]
		m, err := mri.New(root, strings.Join(cur, "/"))
		if err != nil {
			return nil, apitype.PathStat{}, apitype.Wrap(apitype.CodeInvalid, err)
		}
		if st, err = g.src.Stat(ctx, m.String()); err != nil {
			if hops == 0 {
				return nil, apitype.PathStat{}, errNoLink
			}
			return nil, apitype.PathStat{}, err
		}
		if st.Type != "symlink" {
			continue
		}
		link := strings.Join(cur, "/")
		if hops++; hops > maxLinkHops {
			return nil, apitype.PathStat{}, &gwError{http.StatusNotFound, fmt.Sprintf("symlink loop: more than %d links followed at /%s", maxLinkHops, link)}
		}
		if path.IsAbs(st.Target) {
			return nil, apitype.PathStat{}, &gwError{http.StatusNotFound, fmt.Sprintf("/%s is a symlink to %s, outside the package", link, st.Target)}
		}
		target := path.Join(path.Dir(link), st.Target)
		if target == ".." || strings.HasPrefix(target, "../") {
			return nil, apitype.PathStat{}, &gwError{http.StatusNotFound, fmt.Sprintf("/%s is a symlink to %s, outside the package", link, st.Target)}
		}
		var next []string
		if target != "." {
			next = strings.Split(target, "/")
		}
		queue = append(next, queue...)
		cur = nil
	}
	if len(cur) == 0 { // the links led to the root
		m, _ := mri.New(root, "")
		var err error
		if st, err = g.src.Stat(ctx, m.String()); err != nil {
			return nil, apitype.PathStat{}, err
		}
	}
	return cur, st, nil
}
