package main_test

// End-to-end tests: they build the myconet binary once and run it the way a
// user does, with --home in a temporary directory, with and without a daemon.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/myconet/myconet/internal/fixture"
)

// bin is the binary TestMain builds.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "myconet-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "myconet")
	// bufpoison: buffers given back for reuse are overwritten, so a reuse
	// while still read shows as wrong bytes in what the tests compare.
	build := exec.Command("go", "build", "-tags", "bufpoison", "-o", bin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building myconet: %v\n", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cmdTimeout bounds one CLI invocation.
const cmdTimeout = 60 * time.Second

type result struct {
	stdout, stderr string
	code           int
}

// user runs myconet against one home.
type user struct {
	t    *testing.T
	home string
	dir  string // working directory of the commands
}

// newUser returns a user whose home has been created with `myconet init`
// (other commands refuse a home that does not exist).
func newUser(t *testing.T) *user {
	t.Helper()
	u := newBareUser(t)
	u.ok("init")
	return u
}

// newBareUser returns a user whose home does not exist yet.
func newBareUser(t *testing.T) *user {
	t.Helper()
	return &user{t: t, home: filepath.Join(t.TempDir(), "home"), dir: t.TempDir()}
}

func (u *user) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin, append([]string{"--home", u.home}, args...)...)
	cmd.Dir = u.dir
	// Keep everything out of the real user's home, and never inherit a home.
	cmd.Env = append(filteredEnv(), "HOME="+u.dir)
	return cmd
}

func filteredEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MYCONET_HOME=") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	return env
}

func (u *user) run(args ...string) result {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := u.command(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		u.t.Fatalf("myconet %q: %v", args, err)
	}
	return r
}

// ok runs a command that must succeed and returns its stdout.
func (u *user) ok(args ...string) string {
	u.t.Helper()
	r := u.run(args...)
	if r.code != 0 {
		u.t.Fatalf("myconet %s: exit %d\nstderr: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// okJSON runs a command with --json and decodes its output into v.
func (u *user) okJSON(v any, args ...string) {
	u.t.Helper()
	out := u.ok(append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		u.t.Fatalf("myconet %s --json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// okList runs a command with --json and decodes the list its object holds
// under key into v (`pin ls --json` prints {"pins": [...]}).
func (u *user) okList(v any, key string, args ...string) {
	u.t.Helper()
	out := u.ok(append(args, "--json")...)
	if err := decodeList(out, key, v); err != nil {
		u.t.Fatalf("myconet %s --json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// decodeList decodes the list under key of the JSON object out into v.
func decodeList(out, key string, v any) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &obj); err != nil {
		return err
	}
	list, ok := obj[key]
	if !ok {
		return fmt.Errorf("no %q in the object", key)
	}
	return json.Unmarshal(list, v)
}

// fail runs a command that must fail with exit status code and one line on
// stderr, and returns that line.
func (u *user) fail(code int, args ...string) string {
	u.t.Helper()
	r := u.run(args...)
	if r.code != code {
		u.t.Fatalf("myconet %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	if !strings.HasPrefix(r.stderr, "myconet: ") || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
		u.t.Fatalf("myconet %s: stderr is not one \"myconet: \" line: %q", strings.Join(args, " "), r.stderr)
	}
	return strings.TrimSuffix(r.stderr, "\n")
}

// The JSON shapes the tests read (a subset of node's types, decoded
// independently so that the test sees what a script would).
type addResult struct {
	MRI, Package, Content string
	Size, Files           int64
}

type pinInfo struct {
	MRI, Root, Reason, Title string
	Size                     int64
}

type entry struct {
	Name, CID, Type string
	Size            int64
}

func (u *user) pins() []pinInfo {
	u.t.Helper()
	var p []pinInfo
	u.okList(&p, "pins", "pin", "ls")
	return p
}

// pinsText is `pin ls --json` without the access times, which reads (even
// failed ones) move.
func (u *user) pinsText() string {
	u.t.Helper()
	return accessedField.ReplaceAllString(u.ok("pin", "ls", "--json"), "")
}

var accessedField = regexp.MustCompile(`"accessed":\s*"[^"]*",?`)

// writeFile writes deterministic bytes and returns them.
func writeFile(t *testing.T, path string, seed uint64, n int) []byte {
	t.Helper()
	data := fixture.Bytes(seed, n)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return data
}

// makeSite writes a small Mycosite.
func makeSite(t *testing.T, dir string) {
	t.Helper()
	files := map[string]string{
		"index.html":    `<!doctype html><link rel="stylesheet" href="style.css"><h1>Hello</h1><a href="sub/page.html">more</a>`,
		"style.css":     "h1 { color: green }\n",
		"sub/page.html": `<!doctype html><p>A page <a href="../index.html">back</a></p>`,
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// sameTree fails unless a and b hold the same files with the same bytes.
func sameTree(t *testing.T, a, b string) {
	t.Helper()
	list := func(root string) map[string]string {
		m := map[string]string{}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			if d.IsDir() {
				m[rel+"/"] = "dir"
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			m[rel] = fmt.Sprintf("%x", sha256.Sum256(data))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	ma, mb := list(a), list(b)
	if fmt.Sprint(ma) != fmt.Sprint(mb) {
		t.Fatalf("trees differ:\n%s: %v\n%s: %v", a, ma, b, mb)
	}
}

func sameFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes differ from the %d bytes added", path, len(got), len(want))
	}
}

// commonSession runs what works the same with and without a daemon. It
// returns the AddResult of the file and the site.
func commonSession(t *testing.T, u *user) (file, site addResult) {
	data := writeFile(t, filepath.Join(u.dir, "data.bin"), 1, 3*fixture.MiB+12345)
	siteDir := filepath.Join(u.dir, "site")
	makeSite(t, siteDir)

	// add, with flags after the positional argument and repeated tags.
	u.okJSON(&file, "add", "data.bin", "--title", "Some data", "--tag", "test", "--tag", "random", "--kind", "dataset")
	if !strings.HasPrefix(file.MRI, "myco://") || file.Size != int64(len(data)) || file.Files != 1 {
		t.Fatalf("add result %+v", file)
	}
	out := u.ok("add", "site", "--title", "A site", "--kind", "site")
	if !strings.HasPrefix(out, "added myco://") || !strings.Contains(out, "(3 files, ") {
		t.Fatalf("add printed %q", out)
	}
	site.MRI = strings.Fields(out)[1]
	if got := strings.TrimSpace(u.ok("add", "-q", "--kind=site", "site", "--title", "A site")); !strings.HasPrefix(got, "myco://") {
		t.Fatalf("add -q printed %q", got)
	}

	// info
	var info struct {
		MRI, Package, Content, Publisher string
		SignatureValid                   bool `json:"signature_valid"`
		Meta                             struct {
			Title string
			Tags  []string
			Kind  string
			Size  int64
			Files int64
		}
	}
	u.okJSON(&info, "info", file.MRI)
	if info.Package != file.Package || info.Content != file.Content || !info.SignatureValid ||
		info.Meta.Title != "Some data" || len(info.Meta.Tags) != 2 || info.Meta.Kind != "dataset" || info.Publisher == "" {
		t.Errorf("info = %+v, add = %+v", info, file)
	}
	var siteInfo struct{ Package string }
	u.okJSON(&siteInfo, "info", site.MRI)
	site.Package = siteInfo.Package
	text := u.ok("info", site.MRI)
	for _, want := range []string{"title:", "A site", "signature:", "valid", "publisher:", site.Package} {
		if !strings.Contains(text, want) {
			t.Errorf("info lacks %q:\n%s", want, text)
		}
	}

	// ls
	var entries []entry
	u.okList(&entries, "entries", "ls", site.MRI)
	names := []string{}
	for _, e := range entries {
		names = append(names, e.Name+":"+e.Type)
	}
	if got := strings.Join(names, " "); got != "index.html:file style.css:file sub:dir" {
		t.Errorf("ls = %s", got)
	}
	if out := u.ok("ls", site.MRI+"/sub"); !strings.Contains(out, "page.html") {
		t.Errorf("ls sub = %q", out)
	}

	// cat
	if got := u.ok("cat", file.MRI); got != string(data) {
		t.Errorf("cat: %d bytes differ from the %d added", len(got), len(data))
	}
	page, _ := os.ReadFile(filepath.Join(siteDir, "sub", "page.html"))
	if got := u.ok("cat", site.MRI+"/sub/page.html"); got != string(page) {
		t.Errorf("cat page = %q", got)
	}

	// get: file, tree, default name
	u.ok("get", file.MRI, "-o", "out.bin")
	sameFile(t, filepath.Join(u.dir, "out.bin"), data)
	u.ok("get", "-o", "out-site", site.MRI)
	sameTree(t, siteDir, filepath.Join(u.dir, "out-site"))
	u.ok("get", site.MRI+"/sub/page.html")
	sameFile(t, filepath.Join(u.dir, "page.html"), page)
	u.ok("get", site.MRI)
	sameTree(t, siteDir, filepath.Join(u.dir, site.Package))
	if msg := u.fail(1, "get", file.MRI, "-o", "out.bin"); !strings.Contains(msg, "exists") {
		t.Errorf("get over an existing file: %s", msg)
	}

	// bookmarks and open
	u.ok("bookmark", "add", "mysite", site.MRI)
	var bms []struct{ Name, MRI, URL string }
	u.okList(&bms, "bookmarks", "bookmark", "ls")
	if len(bms) != 1 || bms[0].Name != "mysite" || bms[0].MRI != site.MRI {
		t.Errorf("bookmark ls = %+v", bms)
	}
	url := strings.TrimSpace(u.ok("open", "mysite"))
	if !strings.HasPrefix(url, "http://") || !strings.Contains(url, site.Package) {
		t.Errorf("open printed %q", url)
	}
	if url2 := strings.TrimSpace(u.ok("open", site.MRI)); url2 != url {
		t.Errorf("open MRI = %q, open bookmark = %q", url2, url)
	}
	// A taken name is refused unless --force; --follow of a package fails
	// and leaves the bookmark as it was (issue 10 item 5).
	if msg := u.fail(1, "bookmark", "add", "mysite", file.MRI); !strings.Contains(msg, "already exists") || !strings.Contains(msg, "--force") {
		t.Errorf("bookmark add over a taken name: %s", msg)
	}
	if msg := u.fail(1, "bookmark", "add", "mysite", file.MRI, "--follow", "--force"); !strings.Contains(msg, "nothing to follow") {
		t.Errorf("bookmark add --follow of a package: %s", msg)
	}
	u.okList(&bms, "bookmarks", "bookmark", "ls")
	if len(bms) != 1 || bms[0].MRI != site.MRI {
		t.Errorf("refused bookmark adds changed it: %+v", bms)
	}
	u.ok("bookmark", "add", "mysite", file.MRI, "--force")
	u.okList(&bms, "bookmarks", "bookmark", "ls")
	if len(bms) != 1 || bms[0].MRI != file.MRI {
		t.Errorf("bookmark add --force: %+v", bms)
	}
	// follow and unfollow a bookmarked channel; a package has nothing to follow.
	var me struct {
		PeerID string `json:"peer_id"`
	}
	u.okJSON(&me, "id")
	u.ok("bookmark", "add", "mine", "myco://"+me.PeerID+"/docs")
	if out := u.ok("bookmark", "follow", "mine"); !strings.HasPrefix(out, "following mine → myco://") {
		t.Errorf("bookmark follow printed %q", out)
	}
	if msg := u.fail(1, "bookmark", "follow", "mysite"); !strings.Contains(msg, "nothing to follow") {
		t.Errorf("bookmark follow of a package: %s", msg)
	}
	if msg := u.fail(1, "bookmark", "follow", "nosuch"); msg != `myconet: bookmark follow: no bookmark named "nosuch"` {
		t.Errorf("bookmark follow of an unknown name: %s", msg)
	}
	var fb struct{ Follow bool }
	u.okJSON(&fb, "bookmark", "unfollow", "mine")
	if fb.Follow {
		t.Errorf("bookmark unfollow --json: %+v", fb)
	}
	u.ok("bookmark", "rm", "mine")
	u.ok("bookmark", "rm", "mysite")
	u.okList(&bms, "bookmarks", "bookmark", "ls")
	if len(bms) != 0 {
		t.Errorf("bookmark ls after rm = %+v", bms)
	}
	u.fail(1, "bookmark", "rm", "mysite")

	// config
	u.ok("config", "set", "quota.cpu", "2")
	if got := strings.TrimSpace(u.ok("config", "get", "quota.cpu")); got != "2" {
		t.Errorf("config get quota.cpu = %q", got)
	}
	if show := u.ok("config", "show"); !strings.Contains(show, "cpu = 2") {
		t.Errorf("config show:\n%s", show)
	}
	u.fail(1, "config", "set", "quota.cpu", "lots")
	u.fail(1, "config", "get", "no.such.key")

	// Bad inputs: one line, exit 1, store unchanged.
	before := u.pinsText()
	const unknownCID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku" // "hello world", never added
	for _, args := range [][]string{
		{"add", "data.bin"},                      // no --title
		{"add", "/nope/missing", "--title", "T"}, // no such path
		{"add", "data.bin", "--title", "T", "--kind", "nonsense"},
		{"info", "myco://not-a-cid"},                 // malformed MRI
		{"info", "myco://" + file.Package + "/../x"}, // climbs above the root
		{"info", "myco://" + unknownCID},             // unknown CID
		{"get", "myco://" + unknownCID, "-o", "nothing"},
		{"cat", site.MRI}, // a directory
		{"cat", site.MRI + "/no/such/file"},
		{"ls", "myco://" + unknownCID},
		{"export", "myco://" + unknownCID, "-o", "nothing.car"},
		{"import", "no-such.car"},
		{"pin", "rm", "myco://" + unknownCID},
		{"bookmark", "add", "x", "not an mri"},
		{"quota", "set", "disk", "plenty"},
		{"quota", "set", "warp-drive", "1"},
	} {
		msg := u.fail(1, args...)
		t.Logf("myconet %s → %s", strings.Join(args, " "), msg)
	}
	if msg := u.fail(1, "add", "data.bin"); !strings.Contains(msg, "title") {
		t.Errorf("missing --title: %s", msg)
	}
	if msg := u.fail(1, "add", "/nope/missing", "--title", "T"); msg != "myconet: add: /nope/missing: no such file or directory" {
		t.Errorf("missing path: %s", msg)
	}
	for _, p := range []string{"nothing", "nothing.car"} {
		if _, err := os.Stat(filepath.Join(u.dir, p)); err == nil {
			t.Errorf("a failed command left %s behind", p)
		}
	}
	u.fail(2, "add")
	u.fail(2, "add", "data.bin", "--no-such-flag")
	u.fail(2, "frobnicate")
	if after := u.pinsText(); after != before {
		t.Errorf("bad inputs changed the pins:\nbefore %s\nafter %s", before, after)
	}
	return file, site
}

func TestOffline(t *testing.T) {
	u := newBareUser(t)
	out := u.ok("init")
	if !strings.Contains(out, u.home) || !strings.Contains(out, "peer ID") {
		t.Errorf("init printed %q", out)
	}
	var id map[string]any
	u.okJSON(&id, "id")
	for _, k := range []string{"peer_id", "address", "public_key"} {
		if s, _ := id[k].(string); s == "" {
			t.Errorf("id --json: %s missing in %v", k, id)
		}
	}
	if a, _ := id["address"].(string); !strings.HasPrefix(a, "fd6d:7963:") {
		t.Errorf("address %q is not in fd6d:7963::/32", a)
	}
	// $MYCONET_HOME works like --home.
	cmd := exec.Command(bin, "id", "--json")
	cmd.Env = append(filteredEnv(), "MYCONET_HOME="+u.home, "HOME="+u.dir)
	if out, err := cmd.Output(); err != nil || !strings.Contains(string(out), id["peer_id"].(string)) {
		t.Errorf("id with $MYCONET_HOME: %v %s", err, out)
	}
	if msg := u.fail(1, "status"); msg != "myconet: no daemon is running: start one with `myconet daemon`" {
		t.Errorf("status without daemon: %s", msg)
	}

	file, _ := commonSession(t, u)

	// export → import into a second home gives the same package.
	u.ok("export", file.MRI, "-o", "data.car")
	u2 := newUser(t)
	var imp struct {
		Roots  []string
		Blocks int64
	}
	u2.okJSON(&imp, "import", filepath.Join(u.dir, "data.car"))
	if len(imp.Roots) != 1 || !strings.Contains(imp.Roots[0], file.Package) {
		t.Fatalf("import roots %v, want %s", imp.Roots, file.Package)
	}
	var info2 struct{ Package string }
	u2.okJSON(&info2, "info", imp.Roots[0])
	if info2.Package != file.Package {
		t.Errorf("imported package %s, want %s", info2.Package, file.Package)
	}
	u2.ok("get", file.MRI, "-o", "again.bin")
	sameFile(t, filepath.Join(u2.dir, "again.bin"), fixture.Bytes(1, 3*fixture.MiB+12345))

	// pin rm + gc frees the space.
	var q1, q2 struct {
		DiskUsed int64 `json:"disk_used"`
	}
	u.okJSON(&q1, "quota", "show")
	u.ok("pin", "rm", file.MRI)
	var gc struct {
		Removed int
		Freed   int64
	}
	u.okJSON(&gc, "gc")
	u.okJSON(&q2, "quota", "show")
	if gc.Freed < file.Size || q2.DiskUsed > q1.DiskUsed-file.Size {
		t.Errorf("gc freed %d (%d blocks), disk used %d → %d, file was %d", gc.Freed, gc.Removed, q1.DiskUsed, q2.DiskUsed, file.Size)
	}
	for _, p := range u.pins() {
		if p.Root == file.Package {
			t.Errorf("%s still pinned after pin rm", file.Package)
		}
	}
	u.fail(1, "cat", file.MRI) // gone
}

func TestQuota(t *testing.T) {
	t.Run("offline", func(t *testing.T) { testQuota(t, newUser(t)) })
	t.Run("daemon", func(t *testing.T) {
		u := newUser(t)
		u.startDaemon("--api", "127.0.0.1:0", "--gateway", "127.0.0.1:0", "--no-tun")
		testQuota(t, u)
	})
}

func testQuota(t *testing.T, u *user) {
	writeFile(t, filepath.Join(u.dir, "big.bin"), 2, 2*fixture.MiB)
	writeFile(t, filepath.Join(u.dir, "small.bin"), 3, 100*fixture.KiB)
	u.ok("quota", "set", "disk", "1MB")
	show := u.ok("quota", "show")
	if !strings.Contains(show, "of 1.0 MB") {
		t.Errorf("quota show:\n%s", show)
	}
	before := u.pinsText()
	msg := u.fail(1, "add", "big.bin", "--title", "Too big")
	t.Logf("over quota: %s", msg)
	if !strings.Contains(strings.ToLower(msg), "quota") {
		t.Errorf("quota error does not say so: %s", msg)
	}
	if after := u.pinsText(); after != before {
		t.Errorf("a refused add changed the pins:\n%s\n%s", before, after)
	}
	u.ok("add", "small.bin", "--title", "Fits")
	if p := u.pins(); len(p) != 1 || p[0].Title != "Fits" {
		t.Errorf("pins after a fitting add: %+v", p)
	}
	u.ok("quota", "set", "disk", "unlimited")
	u.ok("add", "big.bin", "--title", "Fits now")

	// 0 means zero, unlimited means no limit, none is ambiguous (issue 10 item 6).
	if show := u.ok("quota", "set", "replicas", "0"); !strings.Contains(show, "(takes none)") {
		t.Errorf("quota set replicas 0:\n%s", show)
	}
	var q struct{ Replicas, Disk int64 }
	u.okJSON(&q, "quota", "show")
	if q.Replicas != 0 || q.Disk != -1 {
		t.Errorf("quota show --json after replicas 0, disk unlimited: %+v", q)
	}
	if msg := u.fail(1, "quota", "set", "replicas", "none"); !strings.Contains(msg, "ambiguous") {
		t.Errorf("quota set replicas none: %s", msg)
	}
	if msg := u.fail(1, "quota", "set", "disk", "0"); !strings.Contains(msg, "unlimited") {
		t.Errorf("quota set disk 0: %s", msg)
	}
	u.fail(1, "quota", "set", "connections", "unlimited")
	u.ok("quota", "set", "connections", "auto")
	if got := strings.TrimSpace(u.ok("config", "get", "quota.replicas")); got != "0" {
		t.Errorf("config get quota.replicas = %q", got)
	}
	u.ok("quota", "set", "replicas", "unlimited")
	if show := u.ok("quota", "show"); !strings.Contains(show, "replicas") || !strings.Contains(show, "B (unlimited)") {
		t.Errorf("quota show after replicas unlimited:\n%s", show)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronization
	}
}

type daemon struct {
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	done           chan struct{}
	err            error
}

func (u *user) startDaemon(args ...string) *daemon {
	u.t.Helper()
	d := &daemon{done: make(chan struct{})}
	// Only loopback, on free ports: the test must not bind the default
	// 0.0.0.0:4809 nor collide with other daemons.
	args = append([]string{"daemon", "--listen", "/ip4/127.0.0.1/tcp/0", "--listen", "/ip4/127.0.0.1/udp/0/quic-v1"}, args...)
	d.cmd = u.command(context.Background(), args...)
	d.cmd.Stdout, d.cmd.Stderr = &d.stdout, &d.stderr
	if err := d.cmd.Start(); err != nil {
		u.t.Fatal(err)
	}
	go func() {
		d.err = d.cmd.Wait()
		close(d.done)
	}()
	u.t.Cleanup(func() {
		d.stop()
		if u.t.Failed() {
			u.t.Logf("daemon stdout:\n%s\ndaemon stderr:\n%s", d.stdout.String(), d.stderr.String())
		}
	})
	apiFile := filepath.Join(u.home, "api")
	waitFor(u.t, "the daemon's api file", 20*time.Second, func() bool {
		if d.exited() {
			u.t.Fatalf("daemon exited early: %v\n%s\n%s", d.err, d.stdout.String(), d.stderr.String())
		}
		_, err := os.Stat(apiFile)
		return err == nil
	})
	return d
}

// stop kills the daemon if it still runs and waits for it.
func (d *daemon) stop() {
	select {
	case <-d.done:
	default:
		d.cmd.Process.Kill()
		<-d.done
	}
}

func (d *daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

func TestDaemon(t *testing.T) {
	u := newBareUser(t) // the daemon creates the home
	d := u.startDaemon("--api", "127.0.0.1:0", "--gateway", "127.0.0.1:0", "--no-tun", "--log-level", "debug")
	apiFile := filepath.Join(u.home, "api")
	waitFor(t, "the ready lines", 10*time.Second, func() bool { return strings.Contains(d.stdout.String(), "Overlay address") })
	ready := d.stdout.String()
	for _, want := range []string{"API listening on http://127.0.0.1:", "Gateway on http://127.0.0.1:", "Peer ID ", "Overlay address fd6d:7963:", "TUN disabled"} {
		if !strings.Contains(ready, want) {
			t.Errorf("daemon output lacks %q:\n%s", want, ready)
		}
	}

	var st struct {
		API, Gateway string
		ID           struct {
			PeerID string `json:"peer_id"`
		}
	}
	u.okJSON(&st, "status")
	if st.ID.PeerID == "" || !strings.Contains(ready, st.ID.PeerID) {
		t.Errorf("status %+v does not match the daemon's output", st)
	}
	if text := u.ok("status"); !strings.Contains(text, "uptime") {
		t.Errorf("status:\n%s", text)
	}

	_, site := commonSession(t, u)

	// The gateway serves the site, relative links included.
	url := strings.TrimSpace(u.ok("open", site.MRI))
	body := httpGet(t, url)
	index, _ := os.ReadFile(filepath.Join(u.dir, "site", "index.html"))
	if body != string(index) {
		t.Errorf("gateway %s served %q, want index.html", url, body)
	}
	if css := httpGet(t, strings.TrimSuffix(url, "/")+"/style.css"); css != "h1 { color: green }\n" {
		t.Errorf("style.css = %q", css)
	}
	// The path form on the gateway's own address works too.
	page, _ := os.ReadFile(filepath.Join(u.dir, "site", "sub", "page.html"))
	if got := httpGet(t, "http://"+st.Gateway+"/myco/"+site.Package+"/sub/page.html"); got != string(page) {
		t.Errorf("gateway path form served %q", got)
	}

	// A second daemon on the same home refuses, clearly.
	msg := u.fail(1, "daemon", "--api", "127.0.0.1:0", "--gateway", "127.0.0.1:0", "--no-tun")
	if !strings.Contains(msg, "already running") {
		t.Errorf("second daemon: %s", msg)
	}
	if d.exited() {
		t.Fatal("the first daemon died")
	}

	// SIGTERM stops it cleanly.
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.done:
	case <-time.After(20 * time.Second):
		t.Fatal("daemon did not stop within 20s of SIGTERM")
	}
	if d.err != nil {
		t.Errorf("daemon exit: %v\n%s", d.err, d.stderr.String())
	}
	if _, err := os.Stat(apiFile); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("api file still there after the daemon stopped: %v", err)
	}
	// Offline again, the store holds what the daemon added.
	if p := u.pins(); len(p) < 2 {
		t.Errorf("pins after the daemon stopped: %+v", p)
	}
	u.fail(1, "status")
}

// loopbackClient resolves every *.localhost name to 127.0.0.1, as browsers
// do (RFC 6761), since the gateway gives each package its own origin
// <cid>.localhost; Go's resolver would ask DNS.
var loopbackClient = &http.Client{Transport: &http.Transport{
	DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if host == "localhost" || strings.HasSuffix(host, ".localhost") {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	},
}}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := loopbackClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	return string(b)
}

// bigFile writes size deterministic bytes (seed) to dir/name.
func bigFile(t *testing.T, path string, seed uint64, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(f, fixture.Reader(seed, size)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// interruptedAdd starts `myconet add name`, sends sig once the store has
// grown by 40 MiB (the add has made progress), and waits for the process. It
// reports whether the signal was sent before the add finished.
func (u *user) interruptedAdd(name string, sig syscall.Signal) (sent bool, stderr string, err error) {
	u.t.Helper()
	storeDB := filepath.Join(u.home, "store.db")
	sizeOf := func() int64 { // large blocks go to the blob file beside it
		var n int64
		for _, f := range []string{storeDB, storeDB + ".blob"} {
			if fi, err := os.Stat(f); err == nil {
				n += fi.Size()
			}
		}
		return n
	}
	start := sizeOf()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := u.command(ctx, "add", name, "--title", "Big")
	var errBuf syncBuffer
	cmd.Stderr = &errBuf
	if err := cmd.Start(); err != nil {
		u.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			u.t.Logf("add finished before the %v (%v); the test proves less", sig, err)
			return false, errBuf.String(), err
		default:
		}
		if sizeOf() > start+40*fixture.MiB {
			cmd.Process.Signal(sig)
			err := <-done
			u.t.Logf("sent %v; store.db %d → %d bytes", sig, start, sizeOf())
			return true, errBuf.String(), err
		}
		time.Sleep(5 * time.Millisecond) // polling interval
	}
	u.t.Fatal("add made no progress within 90s")
	return false, "", nil
}

// checkAllOrNothing checks that the store holds either no package or the
// complete one, byte-identical to the input, and still takes new adds.
func (u *user) checkAllOrNothing(seed uint64, size int64) {
	t := u.t
	t.Helper()
	pins := u.pins()
	switch {
	case len(pins) == 0:
		t.Log("afterwards: no package (the add was cut short)")
	case len(pins) == 1 && pins[0].Title == "Big":
		t.Log("afterwards: a package; checking it is complete")
		u.ok("get", pins[0].MRI, "-o", "got.bin")
		sum := func(r io.Reader) [32]byte {
			h := sha256.New()
			if _, err := io.Copy(h, r); err != nil {
				t.Fatal(err)
			}
			return [32]byte(h.Sum(nil))
		}
		g, err := os.Open(filepath.Join(u.dir, "got.bin"))
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		if sum(g) != sum(fixture.Reader(seed, size)) {
			fi, _ := g.Stat()
			t.Errorf("the package listed afterwards is not the input: %d bytes of %d", fi.Size(), size)
		}
	default:
		t.Fatalf("afterwards, pins = %+v", pins)
	}
	writeFile(t, filepath.Join(u.dir, "after.bin"), 8, 2*fixture.MiB)
	u.ok("add", "after.bin", "--title", "After")
	u.ok("gc")
}

func TestCrashDuringAdd(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and adds 200 MiB")
	}
	u := newUser(t)
	const size = 200 * fixture.MiB
	bigFile(t, filepath.Join(u.dir, "big.bin"), 7, size)
	u.interruptedAdd("big.bin", syscall.SIGKILL)
	u.checkAllOrNothing(7, size)
}

// TestInterruptDuringAdd is Ctrl-C: the add stops, says so, exits 130 and
// leaves nothing behind, whether the CLI works on the store or a daemon does
// the work for it.
func TestInterruptDuringAdd(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and adds 200 MiB")
	}
	const size = 200 * fixture.MiB
	big := filepath.Join(t.TempDir(), "big.bin")
	bigFile(t, big, 9, size)
	for _, withDaemon := range []bool{false, true} {
		t.Run(map[bool]string{false: "offline", true: "daemon"}[withDaemon], func(t *testing.T) {
			u := newUser(t)
			var d *daemon
			if withDaemon {
				d = u.startDaemon("--api", "127.0.0.1:0", "--gateway", "127.0.0.1:0", "--no-tun")
			}
			sent, stderr, err := u.interruptedAdd(big, syscall.SIGINT)
			if d != nil {
				// Let the daemon finish whatever the cancelled request left
				// running, then look at the store offline.
				d.cmd.Process.Signal(syscall.SIGTERM)
				<-d.done
			}
			if sent {
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != 130 || stderr != "myconet: add: interrupted\n" {
					t.Errorf("interrupted add: %v, stderr %q; want exit 130 and \"myconet: add: interrupted\"", err, stderr)
				}
				if p := u.pins(); len(p) != 0 {
					t.Errorf("an interrupted add left pins: %+v", p)
				}
			}
			u.checkAllOrNothing(9, size)
		})
	}
}

// listenTCP returns the daemon's loopback TCP listen address with /p2p/<id>,
// from `myconet id --json`.
func (u *user) listenTCP() string {
	u.t.Helper()
	var id struct{ Listen []string }
	u.okJSON(&id, "id")
	for _, a := range id.Listen {
		if strings.HasPrefix(a, "/ip4/127.0.0.1/tcp/") && strings.Contains(a, "/p2p/") {
			return a
		}
	}
	u.t.Fatalf("id lists no loopback TCP address: %v", id.Listen)
	return ""
}

func (u *user) peerID() string {
	u.t.Helper()
	var id struct {
		PeerID string `json:"peer_id"`
	}
	u.okJSON(&id, "id")
	return id.PeerID
}

// eventually runs a command until it succeeds and cond accepts its output,
// or fails the test at the deadline with the last answer. Between attempts
// it waits a polling interval; the network announces and connects
// asynchronously, and there is nothing to wait on but the answer.
func (u *user) eventually(timeout time.Duration, cond func(stdout string) bool, args ...string) string {
	u.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r := u.run(args...)
		if r.code == 0 && (cond == nil || cond(r.stdout)) {
			return r.stdout
		}
		if time.Now().After(deadline) {
			u.t.Fatalf("myconet %s: no success within %v; last: exit %d\nstdout: %s\nstderr: %s",
				strings.Join(args, " "), timeout, r.code, r.stdout, r.stderr)
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}
}

// terminate stops the daemon with SIGTERM and waits for it.
func (d *daemon) terminate(t *testing.T) {
	t.Helper()
	if d.exited() {
		return
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.done:
	case <-time.After(20 * time.Second):
		t.Fatal("daemon did not stop within 20s of SIGTERM")
	}
}

// TestMesh runs three daemons on loopback: B bootstraps from A, C from B
// only. What A adds, C fetches byte-identical; C lists A as a provider; a site
// C got with `site get` still reads, and browses through C's gateway, after A
// and B are gone; a channel A publishes resolves on C to its newest target.
func TestMesh(t *testing.T) {
	start := time.Now()
	flags := []string{"--api", "127.0.0.1:0", "--gateway", "127.0.0.1:0", "--no-tun"}
	a, b, c := newUser(t), newUser(t), newUser(t)
	da := a.startDaemon(flags...)
	db := b.startDaemon(append(flags, "--bootstrap", a.listenTCP())...)
	dc := c.startDaemon(append(flags, "--bootstrap", b.listenTCP())...)
	aID, bID, cID := a.peerID(), b.peerID(), c.peerID()

	if text := a.ok("id"); !strings.Contains(text, "listen:") || !strings.Contains(text, "/p2p/"+aID) {
		t.Errorf("id of a daemon lists no listen addresses:\n%s", text)
	}
	var st struct {
		Peers int
		DHT   string
	}
	b.okJSON(&st, "status")
	if st.DHT == "" || st.DHT == "offline" {
		t.Errorf("status of B: DHT %q", st.DHT)
	}
	if text := b.ok("status"); !strings.Contains(text, "DHT:") || !strings.Contains(text, "peers:") {
		t.Errorf("status:\n%s", text)
	}

	// B sees A (its bootstrap peer) and C (bootstrapped from B).
	b.eventually(20*time.Second, func(out string) bool {
		var peers []struct{ ID, Direction string }
		return decodeList(out, "peers", &peers) == nil && hasIDs(peers, aID, cID)
	}, "peers", "--json")
	if text := b.ok("peers"); !strings.Contains(text, aID) || !strings.Contains(text, "outbound") {
		t.Errorf("peers on B:\n%s", text)
	}

	// Content on A.
	data := writeFile(t, filepath.Join(a.dir, "data.bin"), 11, 4*fixture.MiB+321)
	makeSite(t, filepath.Join(a.dir, "site"))
	var file, site addResult
	a.okJSON(&file, "add", "data.bin", "--title", "Mesh data")
	a.okJSON(&site, "add", "site", "--title", "Mesh site")

	// C fetches the file, through the DHT, byte-identical.
	c.eventually(40*time.Second, nil, "get", file.MRI, "-o", "data.bin")
	sameFile(t, filepath.Join(c.dir, "data.bin"), data)
	out := c.eventually(40*time.Second, func(out string) bool { return strings.Contains(out, aID) }, "providers", file.MRI, "--json")
	var provs struct {
		Providers []struct {
			ID    string
			Addrs []string
			Self  bool
		}
	}
	if err := json.Unmarshal([]byte(out), &provs); err != nil {
		t.Fatalf("providers --json: %v\n%s", err, out)
	}
	if text := c.ok("providers", file.MRI); !strings.Contains(text, aID) {
		t.Errorf("providers on C:\n%s", text)
	}

	// site get pins the site local on C.
	var sinfo struct {
		Package string
		Meta    struct{ Title string }
		Pins    []string
	}
	c.okJSON(&sinfo, "site", "get", site.MRI)
	if sinfo.Package != site.Package || sinfo.Meta.Title != "Mesh site" {
		t.Errorf("site get: %+v, want package %s", sinfo, site.Package)
	}
	local := false
	for _, p := range c.pins() {
		local = local || (p.Root == site.Package && p.Reason == "local")
	}
	if !local {
		t.Errorf("site not pinned local on C: %+v", c.pins())
	}

	t.Run("publish", func(t *testing.T) {
		var p1, p2 struct {
			MRI, Target string
			Seq         uint64
		}
		a.okJSON(&p1, "publish", "docs", file.MRI)
		a.okJSON(&p2, "publish", "docs", site.MRI)
		want := "myco://" + aID + "/docs"
		if p1.MRI != want || p2.MRI != want || p2.Seq <= p1.Seq || !strings.Contains(p2.Target, site.Package) {
			t.Errorf("publish answered %+v then %+v", p1, p2)
		}
		if text := a.ok("publish", "docs", site.MRI); !strings.Contains(text, want) {
			t.Errorf("publish printed %q", text)
		}
		if text := a.ok("publish", "ls"); !strings.Contains(text, want) {
			t.Errorf("publish ls:\n%s", text)
		}
		c.eventually(30*time.Second, func(out string) bool {
			var info struct{ Package string }
			return json.Unmarshal([]byte(out), &info) == nil && info.Package == site.Package
		}, "info", want, "--json")
		if got := c.ok("cat", want+"/sub/page.html"); !strings.Contains(got, "A page") {
			t.Errorf("cat through the channel on C: %q", got)
		}
		// C follows the channel: the version it fetches is kept for offline use.
		c.ok("bookmark", "add", "docs", want, "--follow")
		c.eventually(30*time.Second, func(out string) bool {
			return strings.Contains(out, site.Package)
		}, "bookmark", "ls", "--json")
	})

	if text := c.ok("peers"); !strings.Contains(text, bID) {
		t.Errorf("peers on C lack its bootstrap peer B:\n%s", text)
	}

	// A and B leave; C still has the site, and its gateway serves it.
	da.terminate(t)
	db.terminate(t)
	page, _ := os.ReadFile(filepath.Join(a.dir, "site", "sub", "page.html"))
	if got := c.ok("cat", site.MRI+"/sub/page.html"); got != string(page) {
		t.Errorf("cat on C after A and B left: %q", got)
	}
	var cst struct{ Gateway string }
	c.okJSON(&cst, "status")
	if got := httpGet(t, "http://"+cst.Gateway+"/myco/"+site.Package+"/sub/page.html"); got != string(page) {
		t.Errorf("C's gateway served %q", got)
	}
	url := strings.TrimSpace(c.ok("open", site.MRI))
	if body := httpGet(t, url); !strings.Contains(body, "<h1>Hello</h1>") {
		t.Errorf("C's gateway %s served %q", url, body)
	}
	// C still holds the channel's record in its DHT: the channel resolves.
	if r := c.run("open", "docs"); r.code != 0 || strings.TrimSpace(r.stdout) != url || r.stderr != "" {
		t.Errorf("open of the followed channel with its publisher gone: exit %d, %q, %q (want %s)", r.code, r.stdout, r.stderr, url)
	}
	// With no daemon at all, it opens from what C's bookmark kept, and says
	// it may be stale.
	dc.terminate(t)
	if r := c.run("open", "docs"); r.code != 0 || !strings.Contains(r.stdout, site.Package) || !strings.Contains(r.stderr, "possibly stale") {
		t.Errorf("open of the followed channel offline: exit %d, %q, %q", r.code, r.stdout, r.stderr)
	}
	if text := c.ok("info", "myco://"+aID+"/docs"); !strings.Contains(text, "possibly stale") || !strings.Contains(text, site.Package) {
		t.Errorf("info of the followed channel with its publisher gone:\n%s", text)
	}
	t.Logf("mesh test took %v", time.Since(start).Round(time.Millisecond))
}

func hasIDs(peers []struct{ ID, Direction string }, ids ...string) bool {
	seen := map[string]bool{}
	for _, p := range peers {
		seen[p.ID] = true
	}
	for _, id := range ids {
		if !seen[id] {
			return false
		}
	}
	return true
}
