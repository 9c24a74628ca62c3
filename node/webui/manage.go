package webui

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/myconet/myconet/node/apitype"
)

// Bookmarks.

type bookmarksData struct {
	Marks    []apitype.Bookmark
	Error    string
	Channels []apitype.PublishResult // this node's own channels
}

func (u *UI) bookmarksPage(w http.ResponseWriter, r *http.Request) {
	var d bookmarksData
	marks, err := u.api.Bookmarks(r.Context())
	d.Marks, d.Error = marks, errorMsg(err)
	d.Channels, _ = u.api.Channels(r.Context())
	u.render(w, r, "bookmarks", d)
}

func (u *UI) bookmarkAdd(w http.ResponseWriter, r *http.Request) {
	_, err := u.addBookmark(r.Context(), strings.TrimSpace(r.PostFormValue("name")), strings.TrimSpace(r.PostFormValue("ref")), r.PostFormValue("follow") != "")
	u.bookmarksFragment(w, r, err)
}

func (u *UI) bookmarkRemove(w http.ResponseWriter, r *http.Request) {
	u.bookmarksFragment(w, r, u.api.BookmarkRm(r.Context(), r.PostFormValue("name")))
}

func (u *UI) bookmarkFollow(w http.ResponseWriter, r *http.Request) {
	_, err := u.api.BookmarkFollow(r.Context(), r.PostFormValue("name"), r.PostFormValue("follow") == "1")
	u.bookmarksFragment(w, r, err)
}

// bookmarksFragment answers an edit with the fresh list (and the edit's error).
func (u *UI) bookmarksFragment(w http.ResponseWriter, r *http.Request, err error) {
	d := bookmarksData{Error: errorMsg(err)}
	marks, lerr := u.api.Bookmarks(r.Context())
	if err == nil && lerr != nil {
		d.Error = errorMsg(lerr)
	}
	d.Marks = marks
	u.fragment(w, r, "bookmark-list", d)
}

// bookmarkVersion resolves a bookmark to the package it names now (for a
// channel: its current version, and when that version was made).
func (u *UI) bookmarkVersion(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := withTimeout(r.Context(), infoWait)
	defer cancel()
	info, err := u.api.Info(ctx, r.URL.Query().Get("ref"))
	if err != nil {
		u.fragment(w, r, "muted", errorMsg(err))
		return
	}
	u.fragment(w, r, "bookmark-version", info)
}

// Library.

type libraryData struct {
	Pins   []apitype.PinInfo
	Quota  apitype.QuotaInfo
	Error  string
	Notice string
}

func (u *UI) library(r *http.Request, notice string, err error) libraryData {
	d := libraryData{Notice: notice, Error: errorMsg(err)}
	pins, lerr := u.api.Pins(r.Context())
	if d.Error == "" {
		d.Error = errorMsg(lerr)
	}
	sort.SliceStable(pins, func(i, j int) bool {
		if pins[i].Reason != pins[j].Reason {
			return reasonRank(pins[i].Reason) < reasonRank(pins[j].Reason)
		}
		return pins[i].Created.After(pins[j].Created)
	})
	d.Pins = pins
	d.Quota, _ = u.api.Quota(r.Context())
	return d
}

func reasonRank(r string) int {
	switch r {
	case "local":
		return 0
	case "replica":
		return 1
	case "cache":
		return 2
	}
	return 3
}

func (u *UI) libraryPage(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, "library", u.library(r, "", nil))
}

func (u *UI) libraryUnpin(w http.ResponseWriter, r *http.Request) {
	ref := r.PostFormValue("ref")
	err := u.api.Unpin(r.Context(), ref, r.PostFormValue("reason"))
	notice := ""
	if err == nil {
		notice = "Unpinned. Run garbage collection to free the space now."
	}
	u.fragment(w, r, "library-body", u.library(r, notice, err))
}

func (u *UI) libraryGC(w http.ResponseWriter, r *http.Request) {
	res, err := u.api.GC(r.Context())
	notice := ""
	if err == nil {
		notice = "Garbage collection removed " + itoa(res.Removed) + " blocks and freed " + apitype.FormatSize(res.Freed) + "."
	}
	u.fragment(w, r, "library-body", u.library(r, notice, err))
}

// Network.

type networkData struct {
	Peers     []apitype.PeerInfo
	PeersErr  string
	Routes    []apitype.RouteInfo
	RoutesErr string
	Firewall  apitype.FirewallInfo
	FwErr     string
	ID        apitype.IDInfo
}

func (u *UI) network(r *http.Request) networkData {
	ctx := r.Context()
	var d networkData
	var err error
	d.ID, _ = u.api.ID(ctx)
	d.Peers, err = u.api.Peers(ctx)
	d.PeersErr = errorMsg(err)
	d.Routes, err = u.api.Routes(ctx)
	d.RoutesErr = errorMsg(err)
	d.Firewall, err = u.api.Firewall(ctx)
	d.FwErr = errorMsg(err)
	return d
}

func (u *UI) networkPage(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, "network", u.network(r))
}

func (u *UI) networkConnect(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := withTimeout(r.Context(), 30*time.Second)
	defer cancel()
	pi, err := u.api.Connect(ctx, strings.TrimSpace(r.PostFormValue("addr")))
	if err != nil {
		u.fail(w, r, statusOf(err), err)
		return
	}
	u.fragment(w, r, "ok", "Connected to "+pi.ID+" ("+pi.Direction+"). It is remembered for later starts.")
}

func (u *UI) networkFirewall(w http.ResponseWriter, r *http.Request) {
	rule := strings.TrimSpace(r.PostFormValue("rule"))
	var err error
	if r.PostFormValue("op") == "remove" {
		_, err = u.api.FirewallRemove(r.Context(), rule)
	} else {
		_, err = u.api.FirewallAdd(r.Context(), rule)
	}
	d := u.network(r)
	if err != nil {
		d.FwErr = errorMsg(err)
	}
	u.fragment(w, r, "firewall", d)
}

func (u *UI) networkPing(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := withTimeout(r.Context(), 30*time.Second)
	defer cancel()
	res, err := u.api.Ping(ctx, strings.TrimSpace(r.PostFormValue("addr")), apitype.PingOptions{Count: 3, Interval: 200 * time.Millisecond})
	if err != nil {
		u.fail(w, r, statusOf(err), err)
		return
	}
	u.fragment(w, r, "ping", res)
}

// Quotas and settings.

// quotaRow is one limit of the settings page with its usage.
type quotaRow struct {
	Resource, Label, Value, Used, Help string
}

// configRow is one moderation policy key.
type configRow struct {
	Key, Label, Value string
}

type settingsData struct {
	Quotas  []quotaRow
	Config  []configRow
	Error   string
	Field   string // the resource or key the error is about
	Notice  string
	Quota   apitype.QuotaInfo
	Section string // quota | config: which form answered
}

var configKeys = []configRow{
	{Key: "moderation.min_votes", Label: "Fewest counted votes before the community decides"},
	{Key: "moderation.remove_ratio", Label: "Share of remove votes that withholds a package (0 to 1)"},
	{Key: "moderation.min_tallies", Label: "Fewest aggregators' tallies a decision needs"},
	{Key: "moderation.trusted", Label: "Trusted tally signers (peer IDs, comma separated)"},
	{Key: "moderation.distrusted", Label: "Distrusted tally signers (peer IDs, comma separated)"},
	{Key: "moderation.refresh", Label: "How long a decision is trusted (10m, 1h)"},
}

func (u *UI) settings(r *http.Request) settingsData {
	ctx := r.Context()
	var d settingsData
	q, err := u.api.Quota(ctx)
	d.Error = errorMsg(err)
	d.Quota = q
	lim := func(v int64) string { return apitype.FormatLimit(v) }
	cfg := func(k string) string {
		v, _ := u.api.ConfigGet(ctx, k)
		return v
	}
	d.Quotas = []quotaRow{
		{"disk", "Disk", cfg("quota.disk"), apitype.FormatSize(q.DiskUsed) + " used", "Cached content is evicted to stay under it."},
		{"replicas", "Replica share", cfg("quota.replicas"), apitype.FormatSize(q.ByReason["replica"]) + " of replicas", "Part of the disk that may hold other people's content; 0 takes none, unlimited as much as the disk allows."},
		{"upload", "Upload", cfg("quota.upload"), apitype.FormatSize(q.Uploaded) + " sent this run", "Bytes per second (e.g. 1MB); unlimited."},
		{"download", "Download", cfg("quota.download"), apitype.FormatSize(q.Downloaded) + " received this run", "Bytes per second."},
		{"memory", "Memory", cfg("quota.memory"), lim(q.Memory) + " in effect", "Memory the network stack may use."},
		{"connections", "Connections", cfg("quota.connections"), lim0(q.Conns) + " in effect", "Most open peer connections; 0 = automatic."},
		{"cpu", "CPU", cfg("quota.cpu"), lim0(q.CPU) + " in effect", "Cores background work may use; 0 = automatic."},
	}
	for _, c := range configKeys {
		c.Value = cfg(c.Key)
		d.Config = append(d.Config, c)
	}
	return d
}

func lim0(v int64) string {
	if v == 0 {
		return "automatic"
	}
	return itoa(int(v))
}

func (u *UI) settingsPage(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, "settings", u.settings(r))
}

func (u *UI) settingsQuota(w http.ResponseWriter, r *http.Request) {
	res, val := r.PostFormValue("resource"), strings.TrimSpace(r.PostFormValue("value"))
	_, err := u.api.SetQuota(r.Context(), res, val)
	u.settingsAnswer(w, r, "quota", res, res+" set to "+val+", applied now.", err)
}

func (u *UI) settingsConfig(w http.ResponseWriter, r *http.Request) {
	key, val := r.PostFormValue("key"), strings.TrimSpace(r.PostFormValue("value"))
	known := false
	for _, c := range configKeys {
		known = known || c.Key == key
	}
	var err error
	if !known {
		err = uiError("the web app does not edit " + quote(key) + "; use `myconet config set`")
	} else {
		err = u.api.ConfigSet(r.Context(), key, val)
	}
	u.settingsAnswer(w, r, "config", key, key+" set to "+val+".", err)
}

func (u *UI) settingsAnswer(w http.ResponseWriter, r *http.Request, section, field, notice string, err error) {
	d := u.settings(r)
	d.Section, d.Field = section, field
	if err != nil {
		d.Error = errorMsg(err)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnprocessableEntity)
	} else {
		d.Notice = notice
	}
	u.fragment(w, r, "settings-body", d)
}

func itoa(n int) string { return strconv.Itoa(n) }
