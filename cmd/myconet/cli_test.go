package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
)

func TestParseInterleaved(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		pos     []string
		title   string
		tags    []string
		quiet   bool
		wantErr bool
	}{
		{name: "flags first", args: []string{"--title", "T", "./dir"}, pos: []string{"./dir"}, title: "T"},
		{name: "flags after positional", args: []string{"./dir", "--title", "T"}, pos: []string{"./dir"}, title: "T"},
		{name: "flags between", args: []string{"a", "--title=T", "b", "-q"}, pos: []string{"a", "b"}, title: "T", quiet: true},
		{name: "repeated tag", args: []string{"x", "--tag", "a", "--tag", "b", "--tag=c"}, pos: []string{"x"}, tags: []string{"a", "b", "c"}},
		{name: "double dash", args: []string{"--title", "T", "--", "--not-a-flag", "-q"}, pos: []string{"--not-a-flag", "-q"}, title: "T"},
		{name: "double dash after positional", args: []string{"a", "--", "-q"}, pos: []string{"a", "-q"}},
		{name: "double dash as value", args: []string{"--title", "--", "a", "-q"}, pos: []string{"a"}, title: "--", quiet: true},
		{name: "stdin dash", args: []string{"-", "-q"}, pos: []string{"-"}, quiet: true},
		{name: "unknown flag after positional", args: []string{"a", "--nope"}, wantErr: true},
		{name: "missing value", args: []string{"a", "--title"}, wantErr: true},
		{name: "none", args: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFlagSet("test")
			title := fs.String("title", "", "")
			var tags stringList
			fs.Var(&tags, "tag", "")
			quiet := fs.Bool("q", false, "")
			pos, err := parseInterleaved(fs, tt.args)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parseInterleaved(%q) succeeded, want error", tt.args)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(pos, tt.pos) && len(pos)+len(tt.pos) > 0 {
				t.Errorf("positional = %q, want %q", pos, tt.pos)
			}
			if *title != tt.title {
				t.Errorf("title = %q, want %q", *title, tt.title)
			}
			if !reflect.DeepEqual([]string(tags), tt.tags) && len(tags)+len(tt.tags) > 0 {
				t.Errorf("tags = %q, want %q", tags, tt.tags)
			}
			if *quiet != tt.quiet {
				t.Errorf("q = %v, want %v", *quiet, tt.quiet)
			}
		})
	}
}

// fakeAPI records calls; methods it does not override panic through the nil
// embedded interface, which the tests never reach.
type fakeAPI struct {
	apitype.API
	add    apitype.AddRequest
	addErr error
}

func (f *fakeAPI) Add(ctx context.Context, req apitype.AddRequest, progress func(apitype.Progress)) (apitype.AddResult, error) {
	f.add = req
	if f.addErr != nil {
		return apitype.AddResult{}, f.addErr
	}
	return apitype.AddResult{MRI: "myco://bafyfake", Package: "bafyfake", Size: 2_500_000, Files: 3}, nil
}

func (f *fakeAPI) Status(ctx context.Context) (apitype.Status, error) {
	return apitype.Status{}, fmt.Errorf("%w: start one with `myconet daemon`", apitype.ErrNoDaemon)
}

func testCLI(t *testing.T, api apitype.API) (*cli, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c := &cli{
		stdout: &stdout, stderr: &stderr, stdin: strings.NewReader(""),
		connect: func(ctx context.Context, home string) (apitype.API, func(), error) {
			return api, func() {}, nil
		},
		daemon: func(ctx context.Context, home string) (apitype.API, func(), error) {
			return api, func() {}, nil
		},
	}
	return c, &stdout, &stderr
}

func TestAddArguments(t *testing.T) {
	dir := t.TempDir()
	api := &fakeAPI{}
	c, stdout, stderr := testCLI(t, api)
	status := c.run([]string{"--home", dir, "add", dir, "--title", "My site", "--tag", "a", "--tag", "b",
		"--author", "Ann", "--kind", "site", "--entry", "index.html", "--hidden", "--license", "CC0-1.0"})
	if status != exitOK {
		t.Fatalf("status %d, stderr %q", status, stderr)
	}
	want := apitype.AddRequest{Path: dir, Title: "My site", Tags: []string{"a", "b"}, Authors: []string{"Ann"},
		Kind: "site", Entry: "index.html", Hidden: true, License: "CC0-1.0"}
	if !reflect.DeepEqual(api.add, want) {
		t.Errorf("request = %+v, want %+v", api.add, want)
	}
	if got, want := stdout.String(), "added myco://bafyfake (3 files, 2.5 MB)\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr = %q, want nothing (not a terminal)", stderr)
	}
}

func TestAddRelativePathMadeAbsolute(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	api := &fakeAPI{}
	c, stdout, _ := testCLI(t, api)
	if status := c.run([]string{"--home", dir, "add", ".", "-q", "--title", "x"}); status != exitOK {
		t.Fatalf("status %d", status)
	}
	if !filepath.IsAbs(api.add.Path) {
		t.Errorf("path %q is not absolute", api.add.Path)
	}
	if stdout.String() != "myco://bafyfake\n" {
		t.Errorf("-q printed %q", stdout)
	}
}

func TestErrorsAreOneLine(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name   string
		args   []string
		api    *fakeAPI
		status int
		stderr string
	}{
		{"no such path", []string{"add", "/nope/x", "--title", "T"}, &fakeAPI{}, exitError,
			"myconet: add: /nope/x: no such file or directory\n"},
		{"node error", []string{"add", dir}, &fakeAPI{addErr: fmt.Errorf("%w: metadata: title: required", apitype.ErrInvalid)}, exitError,
			"myconet: add: invalid input: metadata: title: required\n"},
		{"multi-line error", []string{"add", dir}, &fakeAPI{addErr: errors.New("first\nsecond")}, exitError,
			"myconet: add: first; second\n"},
		{"unknown flag", []string{"add", dir, "--nope"}, &fakeAPI{}, exitUsage,
			"myconet: add: flag provided but not defined: -nope (see 'myconet help add')\n"},
		{"missing arg", []string{"add"}, &fakeAPI{}, exitUsage,
			"myconet: add: missing PATH (see 'myconet help add')\n"},
		{"extra arg", []string{"add", "a", "b"}, &fakeAPI{}, exitUsage,
			"myconet: add: unexpected argument \"b\" (see 'myconet help add')\n"},
		{"unknown command", []string{"frobnicate"}, &fakeAPI{}, exitUsage,
			"myconet: unknown command \"frobnicate\" (see 'myconet help')\n"},
		{"missing subcommand", []string{"pin"}, &fakeAPI{}, exitUsage,
			"myconet: pin: missing subcommand: one of ls, rm (see 'myconet help pin')\n"},
		{"unknown subcommand", []string{"quota", "raise"}, &fakeAPI{}, exitUsage,
			"myconet: quota: unknown subcommand \"raise\": want one of set, show (see 'myconet help quota')\n"},
		{"bad global flag", []string{"--nope", "id"}, &fakeAPI{}, exitUsage,
			"myconet: flag provided but not defined: -nope (see 'myconet help')\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, stderr := testCLI(t, tt.api)
			status := c.run(append([]string{"--home", dir}, tt.args...))
			if status != tt.status {
				t.Errorf("status = %d, want %d", status, tt.status)
			}
			if stderr.String() != tt.stderr {
				t.Errorf("stderr = %q, want %q", stderr, tt.stderr)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"add", "-h"}, {"help", "add"}, {"add", "x", "--help"}} {
		c, stdout, stderr := testCLI(t, &fakeAPI{})
		if status := c.run(append([]string{"--home", dir}, args...)); status != exitOK {
			t.Fatalf("%q: status %d, stderr %q", args, status, stderr)
		}
		out := stdout.String()
		for _, want := range []string{"Usage: myconet add PATH --title T [flags]", "--title TITLE", "--tag TAG", "--hidden", "-q "} {
			if !strings.Contains(out, want) {
				t.Errorf("%q: usage lacks %q:\n%s", args, want, out)
			}
		}
	}
	// Every command and subcommand has usage text; help lists them all.
	c, stdout, _ := testCLI(t, &fakeAPI{})
	if status := c.run([]string{"help"}); status != exitOK {
		t.Fatal("help failed")
	}
	for _, cmd := range commands() {
		if !strings.Contains(stdout.String(), "  "+cmd.name) {
			t.Errorf("help does not list %s", cmd.name)
		}
		names := [][]string{{cmd.name}}
		for _, s := range cmd.subs {
			names = append(names, []string{cmd.name, s.name})
		}
		for _, n := range names {
			c, out, errOut := testCLI(t, &fakeAPI{})
			if status := c.run(append([]string{"--home", dir, "help"}, n...)); status != exitOK || !strings.HasPrefix(out.String(), "Usage: myconet "+strings.Join(n, " ")) {
				t.Errorf("help %q: status %d, out %q, err %q", n, status, out, errOut)
			}
		}
	}
}

func TestStatusWithoutDaemon(t *testing.T) {
	c, _, stderr := testCLI(t, &fakeAPI{})
	c.home = t.TempDir()
	err := func() error {
		api, _, _ := c.connect(context.Background(), c.home)
		_, err := api.Status(context.Background())
		return err
	}()
	c.report("status", err)
	if got, want := stderr.String(), "myconet: no daemon is running: start one with `myconet daemon`\n"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
}

func TestRenderProgress(t *testing.T) {
	tests := []struct {
		p       apitype.Progress
		elapsed time.Duration
		want    string
	}{
		{apitype.Progress{Bytes: 0, Total: 100_000_000}, 0,
			"add [>                       ]   0%  0 B / 100.0 MB  - MB/s"},
		{apitype.Progress{Bytes: 50_000_000, Total: 100_000_000, Files: 1}, 2 * time.Second,
			"add [============>           ]  50%  50.0 MB / 100.0 MB  25.0 MB/s  1 file"},
		{apitype.Progress{Bytes: 100_000_000, Total: 100_000_000, Files: 3}, 4 * time.Second,
			"add [========================] 100%  100.0 MB / 100.0 MB  25.0 MB/s  3 files"},
		{apitype.Progress{Bytes: 200, Total: 100}, time.Second, // over-reporting never overflows the bar
			"add [========================] 100%  200 B / 100 B  200 B/s"},
		{apitype.Progress{Bytes: 1_500_000, Files: 7}, time.Second,
			"add  1.5 MB  1.5 MB/s  7 files"},
		{apitype.Progress{Bytes: 3_000_000, Blocks: 3, Providers: 2}, time.Second,
			"add  3.0 MB  3.0 MB/s  3 blocks  2 providers"},
		{apitype.Progress{Bytes: 1_000_000, Blocks: 1, Providers: 1}, time.Second,
			"add  1.0 MB  1.0 MB/s  1 block  1 provider"},
	}
	for _, tt := range tests {
		if got := renderProgress("add", tt.p, tt.elapsed); got != tt.want {
			t.Errorf("renderProgress(%+v, %v) =\n%q, want\n%q", tt.p, tt.elapsed, got, tt.want)
		}
	}
}

func TestProgressBarThrottlesAndErases(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(0, 0)
	b := &progressBar{w: &buf, label: "get", now: func() time.Time { return now }, start: now}
	b.update(apitype.Progress{Bytes: 1, Total: 10})
	now = now.Add(10 * time.Millisecond)
	b.update(apitype.Progress{Bytes: 2, Total: 10}) // too soon: skipped
	now = now.Add(progressInterval)
	b.update(apitype.Progress{Bytes: 3, Total: 10})
	b.done()
	if n := strings.Count(buf.String(), "\r"); n != 3 {
		t.Errorf("%d redraws+erase, want 3: %q", n, buf.String())
	}
	if !strings.HasSuffix(buf.String(), "\r\x1b[K") {
		t.Errorf("bar not erased: %q", buf.String())
	}
	var nilBar *progressBar
	nilBar.update(apitype.Progress{})
	nilBar.done()
	if nilBar.callback() != nil {
		t.Error("nil bar has a callback")
	}
}

func TestFormatting(t *testing.T) {
	if got, want := usageLine(1_200_000_000, 10_000_000_000), "1.2 GB of 10.0 GB (12%)"; got != want {
		t.Errorf("usageLine = %q, want %q", got, want)
	}
	if got, want := usageLine(512, apitype.Unlimited), "512 B (unlimited)"; got != want {
		t.Errorf("usageLine = %q, want %q", got, want)
	}
	var buf bytes.Buffer
	printQuota(&buf, apitype.QuotaInfo{Disk: 10_000_000_000, DiskUsed: 1_200_000_000, Replicas: 0,
		Upload: apitype.Unlimited, Download: 5e6, Memory: apitype.Unlimited})
	for _, want := range []string{"disk         1.2 GB of 10.0 GB (12%)\n", "replicas     0 B held (takes none)\n",
		"upload       unlimited\n", "download     5.0 MB/s\n", "memory       unlimited\n"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("quota table lacks %q:\n%s", want, buf.String())
		}
	}

	if got := defaultOutputName(apitype.PackageInfo{Package: "bafyP", Path: "sub/page.html"}); got != "page.html" {
		t.Errorf("defaultOutputName = %q", got)
	}
	if got := defaultOutputName(apitype.PackageInfo{Package: "bafyP"}); got != "bafyP" {
		t.Errorf("defaultOutputName = %q", got)
	}
	if got := defaultOutputName(apitype.PackageInfo{Package: "bafyP", Name: "report.pdf"}); got != "report.pdf" {
		t.Errorf("defaultOutputName of a named file = %q", got)
	}
	for _, bad := range []string{"../x", "..", "a/b", `a\b`} {
		if got := defaultOutputName(apitype.PackageInfo{Package: "bafyP", Name: bad}); got != "bafyP" {
			t.Errorf("defaultOutputName with name %q = %q", bad, got)
		}
	}

	rows := infoRows(apitype.PackageInfo{MRI: "myco://p", Package: "p", Content: "c",
		Meta: apitype.Meta{Title: "T", Tags: []string{"a", "b"}, Size: 2048, Files: 2}, Publisher: "12D3", SignatureValid: false})
	got := map[string]string{}
	for _, r := range rows {
		got[r.k] = r.v
	}
	for k, want := range map[string]string{"title": "T", "tags": "a, b", "signature": "INVALID", "license": "-",
		"size": "2.0 kB (2048 bytes)", "files": "2", "publisher": "12D3", "package": "p", "content": "c"} {
		if got[k] != want {
			t.Errorf("info %s = %q, want %q", k, got[k], want)
		}
	}

	buf.Reset()
	printEntries(&buf, []apitype.Entry{{Name: "index.html", CID: "bafyA", Size: 1200, Type: "file"}, {Name: "sub", CID: "bafyB", Size: 30, Type: "dir"}})
	if want := "file  1.2 kB  bafyA  index.html\ndir   30 B    bafyB  sub/\n"; buf.String() != want {
		t.Errorf("ls:\n%q, want\n%q", buf.String(), want)
	}

	if got := oneLine("  a\nb\r\n  c  "); got != "a; b; c" {
		t.Errorf("oneLine = %q", got)
	}
	if httpURL("127.0.0.1:1") != "http://127.0.0.1:1" || httpURL("") != "(disabled)" {
		t.Error("httpURL")
	}
}

func (f *fakeAPI) ID(ctx context.Context) (apitype.IDInfo, error) {
	return apitype.IDInfo{PeerID: "12D3Koo", Address: "fd6d:7963::1", PublicKey: "CAES"}, nil
}

func TestGlobalJSON(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"--json", "id"}, {"id", "--json"}} {
		c, stdout, stderr := testCLI(t, &fakeAPI{})
		if status := c.run(append([]string{"--home", dir}, args...)); status != exitOK {
			t.Fatalf("%q: status %d: %s", args, status, stderr)
		}
		want := "{\n  \"peer_id\": \"12D3Koo\",\n  \"address\": \"fd6d:7963::1\",\n  \"public_key\": \"CAES\"\n}\n"
		if stdout.String() != want {
			t.Errorf("%q printed %q", args, stdout)
		}
	}
	c, stdout, _ := testCLI(t, &fakeAPI{})
	c.run([]string{"--home", dir, "id"})
	if want := "peer ID:     12D3Koo\naddress:     fd6d:7963::1\npublic key:  CAES\n"; stdout.String() != want {
		t.Errorf("id printed %q, want %q", stdout, want)
	}
}

// netAPI is a fakeAPI with the network methods, recording what it was asked.
type netAPI struct {
	fakeAPI
	published [2]string // channel, ref
	fetched   string
	fileName  string // Info's Name: the package is a single file
}

func (f *netAPI) Peers(ctx context.Context) ([]apitype.PeerInfo, error) {
	return []apitype.PeerInfo{
		{ID: "12D3A", Addrs: []string{"/ip4/127.0.0.1/tcp/1"}, Direction: "outbound", Latency: 0.001, Path: "direct"},
		{ID: "12D3B", Addrs: []string{"/ip4/127.0.0.1/tcp/2", "/ip4/127.0.0.1/udp/2/quic-v1"}, Direction: "inbound", Relayed: true, Path: "relayed via 12R"},
	}, nil
}

func (f *netAPI) Connect(ctx context.Context, addr string) (apitype.PeerInfo, error) {
	return apitype.PeerInfo{ID: "12D3C", Addrs: []string{addr}, Direction: "outbound"}, nil
}

func (f *netAPI) Providers(ctx context.Context, ref string) ([]apitype.ProviderInfo, error) {
	if ref == "none" {
		return nil, nil
	}
	return []apitype.ProviderInfo{{ID: "12D3A", Addrs: []string{"/ip4/127.0.0.1/tcp/1"}}, {ID: "12D3Self", Self: true}}, nil
}

func (f *netAPI) SiteGet(ctx context.Context, ref string, progress func(apitype.Progress)) (apitype.PackageInfo, error) {
	if progress != nil {
		progress(apitype.Progress{Bytes: 1000, Blocks: 3, Providers: 2})
	}
	return apitype.PackageInfo{MRI: "myco://" + ref, Package: ref, Meta: apitype.Meta{Title: "A site", Size: 2500, Files: 3}}, nil
}

func (f *netAPI) Publish(ctx context.Context, channel, ref string) (apitype.PublishResult, error) {
	f.published = [2]string{channel, ref}
	return apitype.PublishResult{MRI: "myco://12D3Self/" + channel, Target: ref, Seq: 2}, nil
}

func (f *netAPI) Channels(ctx context.Context) ([]apitype.PublishResult, error) {
	return []apitype.PublishResult{{MRI: "myco://12D3Self/docs", Target: "myco://bafyT", Seq: 2, Expires: time.Date(2030, 1, 2, 3, 4, 0, 0, time.Local)}}, nil
}

func (f *netAPI) Fetch(ctx context.Context, ref string, progress func(apitype.Progress)) (apitype.FetchResult, error) {
	f.fetched = ref
	if progress != nil {
		progress(apitype.Progress{Bytes: 5_000_000, Blocks: 5, Providers: 1})
	}
	return apitype.FetchResult{Fetched: true, Bytes: 5_000_000, Blocks: 5, Providers: 1}, nil
}

func (f *netAPI) Info(ctx context.Context, ref string) (apitype.PackageInfo, error) {
	return apitype.PackageInfo{MRI: ref, Package: "bafyP", Name: f.fileName}, nil
}

func (f *netAPI) Get(ctx context.Context, ref, dest string, progress func(apitype.Progress)) error {
	return nil
}

func TestNetworkCommands(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"peers"}, "PEER   DIRECTION  PATH             LATENCY  ADDRESSES\n" +
			"12D3A  outbound   direct           1ms      /ip4/127.0.0.1/tcp/1\n" +
			"12D3B  inbound    relayed via 12R  -        /ip4/127.0.0.1/tcp/2 /ip4/127.0.0.1/udp/2/quic-v1\n"},
		{[]string{"connect", "/ip4/127.0.0.1/tcp/3/p2p/12D3C"}, "connected to 12D3C\n"},
		{[]string{"providers", "myco://bafyP"}, "PEER                  ADDRESSES\n12D3A                 /ip4/127.0.0.1/tcp/1\n12D3Self (this node)  -\n"},
		{[]string{"providers", "none"}, "no providers found\n"},
		{[]string{"providers", "--json", "none"}, "{\n  \"providers\": []\n}\n"},
		{[]string{"site", "get", "bafyS"}, "got myco://bafyS (\"A site\", 3 files, 2.5 kB), pinned local\n"},
		{[]string{"publish", "docs", "myco://bafyT"}, "published myco://12D3Self/docs → myco://bafyT (seq 2)\n"},
		{[]string{"publish", "-q", "docs", "myco://bafyT"}, "myco://12D3Self/docs\n"},
		{[]string{"publish", "--", "ls", "myco://bafyT"}, "published myco://12D3Self/ls → myco://bafyT (seq 2)\n"},
		{[]string{"publish", "ls"}, "MRI                   TARGET        SEQ  EXPIRES\nmyco://12D3Self/docs  myco://bafyT  2    2030-01-02 03:04\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			c, stdout, stderr := testCLI(t, &netAPI{})
			if status := c.run(append([]string{"--home", dir}, tt.args...)); status != exitOK {
				t.Fatalf("status %d: %s", status, stderr)
			}
			if stdout.String() != tt.want {
				t.Errorf("printed\n%s\nwant\n%s", stdout, tt.want)
			}
		})
	}

	// providers --json is an object with a providers list.
	c, stdout, _ := testCLI(t, &netAPI{})
	c.run([]string{"--home", dir, "providers", "x", "--json"})
	var pr struct{ Providers []apitype.ProviderInfo }
	if err := json.Unmarshal(stdout.Bytes(), &pr); err != nil || len(pr.Providers) != 2 || !pr.Providers[1].Self {
		t.Errorf("providers --json: %v %s", err, stdout)
	}

	// Usage errors.
	for _, args := range [][]string{{"publish", "docs"}, {"publish", "ls", "extra"}, {"connect"}, {"site"}, {"providers"}} {
		c, _, stderr := testCLI(t, &netAPI{})
		if status := c.run(append([]string{"--home", dir}, args...)); status != exitUsage {
			t.Errorf("%q: status %d, stderr %q", args, status, stderr)
		}
	}
	// Help of a command with subcommands lists both.
	c, stdout, _ = testCLI(t, &netAPI{})
	c.run([]string{"--home", dir, "help", "publish"})
	for _, want := range []string{"Usage: myconet publish NAME MRI [flags]", "Subcommands:", "ls "} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("help publish lacks %q:\n%s", want, stdout)
		}
	}
}

func TestNetworkCommandsWithoutDaemon(t *testing.T) {
	dir, err := node.Init(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"peers"}, {"connect", "/ip4/127.0.0.1/tcp/1/p2p/x"}, {"providers", "myco://x"}, {"site", "get", "myco://x"}, {"publish", "docs", "myco://x"}, {"status"}} {
		c, _, stderr := testCLI(t, &netAPI{})
		c.daemon = nil // the real connectDaemon: no api file in dir
		if status := c.run(append([]string{"--home", dir}, args...)); status != exitError {
			t.Errorf("%q: status %d", args, status)
		}
		if got, want := stderr.String(), "myconet: no daemon is running: start one with `myconet daemon`\n"; got != want {
			t.Errorf("%q: stderr %q, want %q", args, got, want)
		}
	}
}

func TestGetShowsFetch(t *testing.T) {
	dir := t.TempDir()
	api := &netAPI{}
	c, stdout, stderr := testCLI(t, api)
	c.stderrTTY = true
	if status := c.run([]string{"--home", dir, "get", "myco://bafyP", "-o", filepath.Join(dir, "out")}); status != exitOK {
		t.Fatalf("status %d: %s", status, stderr)
	}
	if api.fetched != "myco://bafyP" {
		t.Errorf("fetched %q", api.fetched)
	}
	if !strings.Contains(stderr.String(), "fetch  5.0 MB") || !strings.Contains(stderr.String(), "5 blocks  1 provider") ||
		!strings.Contains(stderr.String(), "fetched 5.0 MB (5 blocks) from 1 provider\n") {
		t.Errorf("stderr %q", stderr)
	}
	if !strings.HasPrefix(stdout.String(), "saved myco://bafyP to ") {
		t.Errorf("stdout %q", stdout)
	}
	// Not a terminal: no progress, nothing on stderr.
	c, _, stderr = testCLI(t, &netAPI{})
	c.run([]string{"--home", dir, "get", "myco://bafyP", "-o", filepath.Join(dir, "out2")})
	if stderr.Len() != 0 {
		t.Errorf("stderr without a terminal: %q", stderr)
	}
	// A single file streams while the package arrives: no fetch first.
	file := &netAPI{fileName: "film.mkv"}
	c, stdout, stderr = testCLI(t, file)
	if status := c.run([]string{"--home", dir, "get", "myco://bafyF", "-o", filepath.Join(dir, "out3")}); status != exitOK {
		t.Fatalf("status %d: %s", status, stderr)
	}
	if file.fetched != "" || !strings.HasPrefix(stdout.String(), "saved myco://bafyF to ") {
		t.Errorf("get of a file: fetched %q first; stdout %q", file.fetched, stdout)
	}
}

func TestBookmarkWhere(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tt := range []struct {
		b    apitype.Bookmark
		want string
	}{
		{apitype.Bookmark{URL: "http://p.localhost:8190/"}, "http://p.localhost:8190/"},
		{apitype.Bookmark{Follow: true, Resolved: "myco://p", ResolvedAt: now.Add(-3 * time.Minute)}, "following: myco://p (resolved 3m ago)"},
		{apitype.Bookmark{Follow: true}, "following: nothing fetched yet"},
		{apitype.Bookmark{}, "channel"},
	} {
		if got := bookmarkWhere(tt.b, now); got != tt.want {
			t.Errorf("bookmarkWhere(%+v) = %q, want %q", tt.b, got, tt.want)
		}
	}
	for d, want := range map[time.Duration]string{-time.Second: "0s ago", 40 * time.Second: "40s ago", 5 * time.Hour: "5h ago", 72 * time.Hour: "3d ago"} {
		if got := ago(d); got != want {
			t.Errorf("ago(%v) = %q, want %q", d, got, want)
		}
	}
	rows := infoRows(apitype.PackageInfo{MRI: "myco://p", Stale: true, ResolvedAt: time.Now().Add(-2 * time.Hour)})
	if rows[0].k != "channel" || !strings.Contains(rows[0].v, "possibly stale") || !strings.Contains(rows[0].v, "2h ago") {
		t.Errorf("info of a stale channel starts with %+v", rows[0])
	}
}
