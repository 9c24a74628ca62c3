package webui

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/myconet/myconet/node/apitype"
)

// bwSample is the node's bulk byte counters at one moment.
type bwSample struct {
	at       time.Time
	up, down int64
}

const (
	bwEvery   = time.Second // at most one sample a second
	bwSamples = 90          // the chart's span: about three minutes at the page's 2 s poll
)

// activityItem is one thing the node did, for Home's recent activity.
type activityItem struct {
	When    time.Time
	What    string // added, fetched, replica, voted keep, …
	Title   string
	Package string
}

// noteActivity records an action done through the UI.
func (u *UI) noteActivity(what, title, pkg string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.activity = append(u.activity, activityItem{When: u.opt.Now(), What: what, Title: title, Package: pkg})
	if len(u.activity) > 50 {
		u.activity = u.activity[len(u.activity)-50:]
	}
}

type reasonCount struct {
	Reason string
	Count  int
	Size   int64
}

type homeData struct {
	ID        apitype.IDInfo
	Status    *apitype.Status
	StatusErr string
	Quota     apitype.QuotaInfo
	Reasons   []reasonCount
	Activity  []activityItem
	Live      liveData
}

func (u *UI) home(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var d homeData
	var err error
	if d.ID, err = u.api.ID(ctx); err != nil {
		u.fail(w, r, statusOf(err), err)
		return
	}
	if st, err := u.api.Status(ctx); err == nil {
		d.Status = &st
		d.Quota = st.Store
	} else {
		d.StatusErr = errorMsg(err)
		d.Quota, _ = u.api.Quota(ctx)
	}
	pins, _ := u.api.Pins(ctx)
	d.Reasons, d.Activity = summarizePins(pins)
	u.mu.Lock()
	mine := append([]activityItem(nil), u.activity...)
	u.mu.Unlock()
	d.Activity = mergeActivity(d.Activity, mine)
	sort.SliceStable(d.Activity, func(i, j int) bool { return d.Activity[i].When.After(d.Activity[j].When) })
	if len(d.Activity) > 12 {
		d.Activity = d.Activity[:12]
	}
	d.Live = u.sampleLive(d.Status)
	u.render(w, r, "home", d)
}

// summarizePins counts pins by reason (local, replica, cache, …) and turns
// the newest into activity items: an add is a local pin, a fetch a cache pin.
func summarizePins(pins []apitype.PinInfo) ([]reasonCount, []activityItem) {
	by := map[string]*reasonCount{}
	for _, p := range pins {
		rc := by[p.Reason]
		if rc == nil {
			rc = &reasonCount{Reason: p.Reason}
			by[p.Reason] = rc
		}
		rc.Count++
		rc.Size += p.Size
	}
	var out []reasonCount
	for _, want := range []string{"local", "replica", "cache"} {
		if rc := by[want]; rc != nil {
			out = append(out, *rc)
			delete(by, want)
		} else {
			out = append(out, reasonCount{Reason: want})
		}
	}
	for _, rc := range by {
		out = append(out, *rc)
	}
	sorted := append([]apitype.PinInfo(nil), pins...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Created.After(sorted[j].Created) })
	if len(sorted) > 12 {
		sorted = sorted[:12]
	}
	var act []activityItem
	for _, p := range sorted {
		what := map[string]string{"local": "added", "cache": "fetched", "replica": "replicating"}[p.Reason]
		if what == "" {
			what = "pinned (" + p.Reason + ")"
		}
		act = append(act, activityItem{When: p.Created, What: what, Title: p.Title, Package: strings.TrimPrefix(p.MRI, "myco://")})
	}
	return out, act
}

// liveData is Home's live part: peers and the bandwidth chart.
type liveData struct {
	Online           bool
	Peers            int
	DHT              string
	UpRate, DownRate string // over the last sample interval
	UpLine, DownLine string // SVG polyline points
	Span             string
}

// live answers the live fragment Home polls every two seconds.
func (u *UI) live(w http.ResponseWriter, r *http.Request) {
	var st *apitype.Status
	if s, err := u.api.Status(r.Context()); err == nil {
		st = &s
	}
	u.fragment(w, r, "live", u.sampleLive(st))
}

// sampleLive records a bandwidth sample (at most one a second) and draws
// the chart of the rates between samples.
func (u *UI) sampleLive(st *apitype.Status) liveData {
	d := liveData{DHT: "offline"}
	if st == nil {
		return d
	}
	d.Online, d.Peers, d.DHT = true, st.Peers, st.DHT
	now := u.opt.Now()
	u.mu.Lock()
	if n := len(u.bw); n == 0 || now.Sub(u.bw[n-1].at) >= bwEvery {
		u.bw = append(u.bw, bwSample{at: now, up: st.Store.Uploaded, down: st.Store.Downloaded})
		if len(u.bw) > bwSamples {
			u.bw = u.bw[len(u.bw)-bwSamples:]
		}
	}
	samples := append([]bwSample(nil), u.bw...)
	u.mu.Unlock()
	if len(samples) < 2 {
		d.UpRate, d.DownRate = "0 B/s", "0 B/s"
		return d
	}
	ups := make([]float64, len(samples)-1)
	downs := make([]float64, len(samples)-1)
	var top float64 = 1
	for i := 1; i < len(samples); i++ {
		dt := samples[i].at.Sub(samples[i-1].at).Seconds()
		if dt <= 0 {
			dt = 1
		}
		ups[i-1] = max(0, float64(samples[i].up-samples[i-1].up)/dt)
		downs[i-1] = max(0, float64(samples[i].down-samples[i-1].down)/dt)
		top = max(top, ups[i-1], downs[i-1])
	}
	line := func(v []float64) string {
		if len(v) == 1 {
			v = []float64{v[0], v[0]} // a level line until the next sample
		}
		var b strings.Builder
		for i, x := range v {
			px := 300.0
			if len(v) > 1 {
				px = float64(i) * 300 / float64(len(v)-1)
			}
			fmt.Fprintf(&b, "%.1f,%.1f ", px, 78-x*74/top)
		}
		return strings.TrimSpace(b.String())
	}
	d.UpLine, d.DownLine = line(ups), line(downs)
	d.UpRate = apitype.FormatSize(int64(ups[len(ups)-1])) + "/s"
	d.DownRate = apitype.FormatSize(int64(downs[len(downs)-1])) + "/s"
	d.Span = samples[len(samples)-1].at.Sub(samples[0].at).Round(time.Second).String()
	return d
}

// withTimeout bounds calls that may wait on the network.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}

// mergeActivity adds the UI's own actions to the items derived from pins,
// leaving out a pin's "added" or "fetched" when the UI said it better
// ("published", "downloaded").
func mergeActivity(fromPins, mine []activityItem) []activityItem {
	said := map[string]bool{}
	for _, a := range mine {
		if a.What == "published" || a.What == "downloaded" {
			said[a.Package] = true
		}
	}
	out := append([]activityItem(nil), mine...)
	for _, a := range fromPins {
		if !said[a.Package] {
			out = append(out, a)
		}
	}
	return out
}
