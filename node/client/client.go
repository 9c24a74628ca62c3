// Package client speaks a Myconet node's HTTP API (see httpapi.New and
// docs/openapi.yaml). *Client implements node.API, so the CLI uses one code
// path whether a daemon runs (FromHome) or not (NewInProcess).
//
// Errors from the node come back as *node.Error with the node's Code, so
// errors.Is(err, node.ErrNotFound) holds on both sides of the wire.
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/fdpass"
)

// Client is an HTTP API client. Its methods are safe for concurrent use.
type Client struct {
	base  string // "http://host:port", no trailing slash
	token string
	hc    *http.Client
	close func() error // releases what NewInProcess started; nil otherwise
	// sock is the daemon's Unix socket when the client uses it ("" if not):
	// requests go over it, and get hands the daemon the file to write.
	sock string
}

var _ apitype.API = (*Client)(nil)

// probeTimeout bounds FromHome's check that the daemon answers.
const probeTimeout = time.Second

// progressInterval throttles Get's progress callbacks.
const progressInterval = 100 * time.Millisecond

// New returns a client of the API at baseURL ("http://127.0.0.1:5190", or a
// bare "host:port") that authenticates with token. The client has no overall
// timeout, since transfers can be long; bound calls with their contexts.
func New(baseURL, token string) *Client {
	return newClient(baseURL, token, (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext)
}

func newClient(baseURL, token string, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *Client {
	if !strings.Contains(baseURL, "://") {
		baseURL = "http://" + baseURL
	}
	tr := &http.Transport{
		Proxy:                 nil, // the API is local; never send the token to a proxy
		DialContext:           dial,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		// Downloads are large: read them in large pieces (the default
		// 4 KiB makes a GiB cost a quarter of a million read calls). They
		// are still written in io.Copy's 32 KiB: on ext4 (Linux 6.18) a
		// 1 GiB get written in 256 KiB or 1 MiB pieces cost the CLI 1.5-2.3 s
		// of system time against 0.47-0.49 s in 32 KiB ones.
		ReadBufferSize: 256 << 10,
	}
	return &Client{
		base:  strings.TrimRight(baseURL, "/"),
		token: strings.TrimSpace(token),
		hc:    &http.Client{Transport: tr},
	}
}

// FromHome returns a client of the daemon running on the node home: it reads
// <home>/api (the daemon's address) and <home>/api.token. When the address
// file is missing, or the daemon does not answer within a second (a stale
// file left by a crash), the error wraps node.ErrNoDaemon.
func FromHome(ctx context.Context, home string) (*Client, error) {
	apiPath := filepath.Join(home, apitype.APIFile)
	addr, err := os.ReadFile(apiPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w (no %s)", apitype.ErrNoDaemon, apiPath)
	}
	if err != nil {
		return nil, fmt.Errorf("api client: %w", err)
	}
	a := strings.TrimSpace(string(addr))
	if a == "" {
		return nil, fmt.Errorf("%w (%s is empty)", apitype.ErrNoDaemon, apiPath)
	}
	token, err := os.ReadFile(filepath.Join(home, apitype.TokenFile))
	if err != nil {
		return nil, fmt.Errorf("api client: token: %w", err)
	}
	c := New(loopbackFor(a), string(token))
	c.useSocket(filepath.Join(home, apitype.SocketFile))
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	if _, err := c.ID(pctx); err != nil {
		c.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if e := new(apitype.Error); errors.As(err, &e) && e.Code != apitype.CodeNoDaemon {
			return nil, err // the daemon answered, but refused
		}
		return nil, fmt.Errorf("%w: the daemon at %s (from %s) does not answer: %v", apitype.ErrNoDaemon, a, apiPath, err)
	}
	return c, nil
}

// useSocket sends requests over the daemon's Unix socket at path when it
// is there (Linux), and over TCP when it cannot be reached.
func (c *Client) useSocket(path string) {
	if !fdpass.Supported {
		return
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Type() != os.ModeSocket {
		return
	}
	tr := c.hc.Transport.(*http.Transport)
	tcp := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if conn, err := (&net.Dialer{}).DialContext(ctx, "unix", path); err == nil {
			return conn, nil
		}
		return tcp(ctx, network, addr)
	}
	c.sock = path
}

// Close releases idle connections and, for an in-process client, stops its
// server. It is idempotent.
func (c *Client) Close() error {
	c.hc.CloseIdleConnections()
	if c.close != nil {
		return c.close()
	}
	return nil
}

// BaseURL returns the API's base URL.
func (c *Client) BaseURL() string { return c.base }

// request sends a request and returns the response of a 2xx status; any other
// status becomes the *node.Error the body describes. The caller closes the body.
func (c *Client) request(ctx context.Context, method, path string, q url.Values, body io.Reader, contentType string) (*http.Response, error) {
	resp, err := c.do(ctx, c.hc, method, path, q, body, contentType)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, decodeError(resp)
	}
	return resp, nil
}

// do sends a request through hc and returns its response, whatever its
// status.
func (c *Client) do(ctx context.Context, hc *http.Client, method, path string, q url.Values, body io.Reader, contentType string) (*http.Response, error) {
	u := c.base + apitype.APIPrefix + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("api %s: %w", path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			return nil, &apitype.Error{Code: apitype.CodeNoDaemon, Msg: fmt.Sprintf("no daemon is running: %v", err)}
		}
		return nil, fmt.Errorf("api %s: %w", path, err)
	}
	return resp, nil
}

// decodeError rebuilds the *node.Error an error response describes.
func decodeError(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var eb apitype.ErrorBody
	if json.Unmarshal(data, &eb) == nil && eb.Error != "" {
		if eb.Code == "" {
			eb.Code = codeOfStatus(resp.StatusCode)
		}
		return &apitype.Error{Code: eb.Code, Msg: eb.Error}
	}
	msg := strings.TrimSpace(string(data))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return &apitype.Error{Code: codeOfStatus(resp.StatusCode), Msg: fmt.Sprintf("api: HTTP %d: %s", resp.StatusCode, strings.Join(strings.Fields(msg), " "))}
}

// codeOfStatus guesses a Code for a response without one.
func codeOfStatus(status int) apitype.Code {
	for _, c := range []apitype.Code{apitype.CodeInvalid, apitype.CodeNotFound, apitype.CodeQuota, apitype.CodeLocked, apitype.CodeNoDaemon, apitype.CodeWithheld, apitype.CodeRetracted} {
		if c.HTTPStatus() == status {
			return c
		}
	}
	if status/100 == 4 {
		return apitype.CodeInvalid
	}
	return apitype.CodeInternal
}

// trailerError returns the error a stream's trailers report, if any. Call it
// after reading the body to EOF.
func trailerError(resp *http.Response) error {
	msg := resp.Trailer.Get(apitype.TrailerError)
	if msg == "" {
		return nil
	}
	code := apitype.Code(resp.Trailer.Get(apitype.TrailerCode))
	if code == "" {
		code = apitype.CodeInternal
	}
	return &apitype.Error{Code: code, Msg: msg}
}

// getJSON sends a request and decodes the JSON answer into out (if non-nil).
func (c *Client) doJSON(ctx context.Context, method, path string, q url.Values, in, out any) error {
	var body io.Reader
	ct := ""
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("api %s: %w", path, err)
		}
		body, ct = bytes.NewReader(data), "application/json"
	}
	resp, err := c.request(ctx, method, path, q, body, ct)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("api %s: bad answer: %w", path, err)
	}
	return nil
}

func refQuery(ref string) url.Values { return url.Values{"ref": {ref}} }

// ID implements node.API.
func (c *Client) ID(ctx context.Context) (apitype.IDInfo, error) {
	var v apitype.IDInfo
	return v, c.doJSON(ctx, http.MethodGet, "/id", nil, nil, &v)
}

// Status implements node.API.
func (c *Client) Status(ctx context.Context) (apitype.Status, error) {
	var v apitype.Status
	return v, c.doJSON(ctx, http.MethodGet, "/status", nil, nil, &v)
}

// Add implements node.API. req.Path is a path on the daemon's machine.
func (c *Client) Add(ctx context.Context, req apitype.AddRequest, progress func(apitype.Progress)) (apitype.AddResult, error) {
	return postProgress[apitype.AddResult](ctx, c, "/add", req, progress)
}

// postProgress posts in as JSON to a progress stream endpoint (see
// node.ProgressLine), calls progress for each progress line and returns the
// result line's value or the error line's *node.Error.
func postProgress[T any](ctx context.Context, c *Client, path string, in any, progress func(apitype.Progress)) (T, error) {
	var zero T
	data, err := json.Marshal(in)
	if err != nil {
		return zero, fmt.Errorf("api %s: %w", path, err)
	}
	resp, err := c.request(ctx, http.MethodPost, path, nil, bytes.NewReader(data), "application/json")
	if err != nil {
		return zero, err
	}
	defer resp.Body.Close()
	return readProgress[T](ctx, path, resp, progress)
}

// readProgress reads a progress stream (see postProgress).
func readProgress[T any](ctx context.Context, path string, resp *http.Response, progress func(apitype.Progress)) (T, error) {
	var zero T
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var line apitype.ProgressLine[T]
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return zero, fmt.Errorf("api %s: bad stream line: %w", path, err)
		}
		switch {
		case line.Result != nil:
			return *line.Result, nil
		case line.Error != "" || line.Code != "":
			code := line.Code
			if code == "" {
				code = apitype.CodeInternal
			}
			return zero, &apitype.Error{Code: code, Msg: line.Error}
		case line.Progress != nil && progress != nil:
			progress(*line.Progress)
		}
	}
	if ctx.Err() != nil {
		return zero, ctx.Err()
	}
	if err := sc.Err(); err != nil {
		return zero, fmt.Errorf("api %s: %w", path, err)
	}
	return zero, fmt.Errorf("api %s: the stream ended without a result", path)
}

// Info implements node.API.
func (c *Client) Info(ctx context.Context, ref string) (apitype.PackageInfo, error) {
	var v apitype.PackageInfo
	return v, c.doJSON(ctx, http.MethodGet, "/info", refQuery(ref), nil, &v)
}

// Ls implements node.API.
func (c *Client) Ls(ctx context.Context, ref string) ([]apitype.Entry, error) {
	var v []apitype.Entry
	return v, c.doJSON(ctx, http.MethodGet, "/ls", refQuery(ref), nil, &v)
}

// Cat implements node.API.
func (c *Client) Cat(ctx context.Context, ref string, w io.Writer) error {
	return c.copyStream(ctx, "/cat", refQuery(ref), w)
}

// Export implements node.API.
func (c *Client) Export(ctx context.Context, ref string, w io.Writer) error {
	return c.copyStream(ctx, "/export", refQuery(ref), w)
}

// copyStream copies a streamed answer to w and checks its trailers.
func (c *Client) copyStream(ctx context.Context, path string, q url.Values, w io.Writer) error {
	resp, err := c.request(ctx, http.MethodGet, path, q, nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("api %s: %w", path, err)
	}
	return trailerError(resp)
}

// Get implements node.API: a file is written to dest, a directory extracted
// into dest (see extractTar for what is refused). dest must not exist; on
// failure, what Get wrote is removed.
func (c *Client) Get(ctx context.Context, ref, dest string, progress func(apitype.Progress)) (reterr error) {
	if dest == "" {
		return fmt.Errorf("%w: get: no destination given", apitype.ErrInvalid)
	}
	if _, err := os.Lstat(dest); err == nil {
		return fmt.Errorf("%w: %s already exists", apitype.ErrInvalid, dest)
	}
	if c.sock != "" {
		if done, err := c.getFD(ctx, ref, dest, progress); done {
			return err
		}
	}
	resp, err := c.request(ctx, http.MethodGet, "/get", refQuery(ref), nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()

	pr := &progressCounter{fn: progress}
	pr.p.Total, _ = strconv.ParseInt(resp.Header.Get(apitype.HeaderSize), 10, 64)
	created := false
	defer func() {
		if reterr != nil && created {
			os.RemoveAll(dest)
		}
	}()
	switch typ := resp.Header.Get(apitype.HeaderType); typ {
	case "file":
		f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return fmt.Errorf("get: %w", err)
		}
		created = true
		pr.p.Files = 1
		_, err = io.Copy(io.MultiWriter(f, pr), resp.Body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if terr := trailerError(resp); terr != nil {
				return terr
			}
			return fmt.Errorf("get: %w", err)
		}
	case "dir":
		if err := os.Mkdir(dest, 0o755); err != nil {
			return fmt.Errorf("get: %w", err)
		}
		created = true
		if err := extractTar(resp.Body, dest, pr); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if terr := trailerError(resp); terr != nil {
				return terr
			}
			return fmt.Errorf("get: %w", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body) // reach EOF for the trailers
	default:
		return fmt.Errorf("get: the API answered an unknown %s %q", apitype.HeaderType, typ)
	}
	if err := trailerError(resp); err != nil {
		return err
	}
	pr.report(true)
	return nil
}

// progressCounter counts file bytes written and reports them, throttled.
type progressCounter struct {
	fn   func(apitype.Progress)
	p    apitype.Progress
	last time.Time
}

func (p *progressCounter) Write(b []byte) (int, error) {
	p.p.Bytes += int64(len(b))
	p.report(false)
	return len(b), nil
}

func (p *progressCounter) report(final bool) {
	if p.fn == nil {
		return
	}
	if now := time.Now(); final || now.Sub(p.last) >= progressInterval {
		p.last = now
		p.fn(p.p)
	}
}

// Pins implements node.API.
func (c *Client) Pins(ctx context.Context) ([]apitype.PinInfo, error) {
	var v []apitype.PinInfo
	return v, c.doJSON(ctx, http.MethodGet, "/pins", nil, nil, &v)
}

// Unpin implements node.API.
func (c *Client) Unpin(ctx context.Context, ref, reason string) error {
	q := refQuery(ref)
	if reason != "" {
		q.Set("reason", reason)
	}
	return c.doJSON(ctx, http.MethodPost, "/pins/rm", q, nil, nil)
}

// GC implements node.API.
func (c *Client) GC(ctx context.Context) (apitype.GCResult, error) {
	var v apitype.GCResult
	return v, c.doJSON(ctx, http.MethodPost, "/gc", nil, nil, &v)
}

// Import implements node.API; r is streamed to the daemon.
func (c *Client) Import(ctx context.Context, r io.Reader) (apitype.ImportResult, error) {
	resp, err := c.request(ctx, http.MethodPost, "/import", nil, io.NopCloser(r), apitype.ContentTypeCAR)
	if err != nil {
		return apitype.ImportResult{}, err
	}
	defer resp.Body.Close()
	var v apitype.ImportResult
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return v, fmt.Errorf("api /import: bad answer: %w", err)
	}
	return v, nil
}

// Bookmarks implements node.API.
func (c *Client) Bookmarks(ctx context.Context) ([]apitype.Bookmark, error) {
	var v []apitype.Bookmark
	return v, c.doJSON(ctx, http.MethodGet, "/bookmarks", nil, nil, &v)
}

// BookmarkAdd implements node.API.
func (c *Client) BookmarkAdd(ctx context.Context, req apitype.BookmarkRequest) (apitype.Bookmark, error) {
	var v apitype.Bookmark
	return v, c.doJSON(ctx, http.MethodPost, "/bookmarks", nil, req, &v)
}

// BookmarkFollow implements node.API.
func (c *Client) BookmarkFollow(ctx context.Context, name string, follow bool) (apitype.Bookmark, error) {
	var v apitype.Bookmark
	if name == "" {
		return v, fmt.Errorf("%w: bookmark: empty name", apitype.ErrInvalid)
	}
	return v, c.doJSON(ctx, http.MethodPost, "/bookmarks/"+url.PathEscape(name)+"/follow", nil, apitype.FollowRequest{Follow: follow}, &v)
}

// BookmarkRm implements node.API.
func (c *Client) BookmarkRm(ctx context.Context, name string) error {
	if name == "" {
		return fmt.Errorf("%w: bookmark: empty name", apitype.ErrInvalid)
	}
	return c.doJSON(ctx, http.MethodDelete, "/bookmarks/"+url.PathEscape(name), nil, nil, nil)
}

// OpenURL implements node.API.
func (c *Client) OpenURL(ctx context.Context, nameOrRef string) (apitype.URLResponse, error) {
	var v apitype.URLResponse
	err := c.doJSON(ctx, http.MethodGet, "/open", refQuery(nameOrRef), nil, &v)
	return v, err
}

// Quota implements node.API.
func (c *Client) Quota(ctx context.Context) (apitype.QuotaInfo, error) {
	var v apitype.QuotaInfo
	return v, c.doJSON(ctx, http.MethodGet, "/quota", nil, nil, &v)
}

// SetQuota implements node.API.
func (c *Client) SetQuota(ctx context.Context, resource, value string) (apitype.QuotaInfo, error) {
	var v apitype.QuotaInfo
	return v, c.doJSON(ctx, http.MethodPost, "/quota", nil, apitype.QuotaRequest{Resource: resource, Value: value}, &v)
}

// ConfigShow implements node.API.
func (c *Client) ConfigShow(ctx context.Context) (string, error) {
	var v apitype.ConfigText
	err := c.doJSON(ctx, http.MethodGet, "/config", nil, nil, &v)
	return v.Text, err
}

// ConfigGet implements node.API.
func (c *Client) ConfigGet(ctx context.Context, key string) (string, error) {
	if key == "" {
		return "", fmt.Errorf("%w: config: empty key", apitype.ErrInvalid)
	}
	var v apitype.ConfigValue
	err := c.doJSON(ctx, http.MethodGet, "/config/"+url.PathEscape(key), nil, nil, &v)
	return v.Value, err
}

// ConfigSet implements node.API.
func (c *Client) ConfigSet(ctx context.Context, key, value string) error {
	return c.doJSON(ctx, http.MethodPost, "/config", nil, apitype.ConfigValue{Key: key, Value: value}, nil)
}

// Peers implements node.API.
func (c *Client) Peers(ctx context.Context) ([]apitype.PeerInfo, error) {
	var v []apitype.PeerInfo
	return v, c.doJSON(ctx, http.MethodGet, "/peers", nil, nil, &v)
}

// Connect implements node.API.
func (c *Client) Connect(ctx context.Context, multiaddr string) (apitype.PeerInfo, error) {
	var v apitype.PeerInfo
	return v, c.doJSON(ctx, http.MethodPost, "/peers/connect", nil, apitype.ConnectRequest{Addr: multiaddr}, &v)
}

// Providers implements node.API.
func (c *Client) Providers(ctx context.Context, ref string) ([]apitype.ProviderInfo, error) {
	var v apitype.ProvidersResponse
	return v.Providers, c.doJSON(ctx, http.MethodGet, "/providers", refQuery(ref), nil, &v)
}

// SiteGet implements node.API.
func (c *Client) SiteGet(ctx context.Context, ref string, progress func(apitype.Progress)) (apitype.PackageInfo, error) {
	return postProgress[apitype.PackageInfo](ctx, c, "/site/get", apitype.RefRequest{Ref: ref}, progress)
}

// Fetch asks the daemon to bring the package ref names into its store from
// the network (pinned cache), reporting progress; a package the daemon holds
// already answers at once with a zero result. Get, Cat and the rest fetch
// too, silently; Fetch first gives a long fetch a progress bar.
func (c *Client) Fetch(ctx context.Context, ref string, progress func(apitype.Progress)) (apitype.FetchResult, error) {
	return postProgress[apitype.FetchResult](ctx, c, "/fetch", apitype.RefRequest{Ref: ref}, progress)
}

// Publish implements node.API.
func (c *Client) Publish(ctx context.Context, channel, ref string) (apitype.PublishResult, error) {
	var v apitype.PublishResult
	return v, c.doJSON(ctx, http.MethodPost, "/publish", nil, apitype.PublishRequest{Channel: channel, Ref: ref}, &v)
}

// Channels implements node.API.
func (c *Client) Channels(ctx context.Context) ([]apitype.PublishResult, error) {
	var v []apitype.PublishResult
	return v, c.doJSON(ctx, http.MethodGet, "/channels", nil, nil, &v)
}

// Metrics returns the /metrics text.
func (c *Client) Metrics(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/metrics", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("api /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", decodeError(resp)
	}
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// Search implements node.API: GET /search streams NDJSON lines
// (node.SearchLine), a result each as the daemon verifies it, then the
// ranked list.
func (c *Client) Search(ctx context.Context, query string, opts apitype.SearchOptions, onResult func(apitype.SearchResult)) ([]apitype.SearchResult, error) {
	q := url.Values{"q": {query}}
	for k, v := range map[string]string{"kind": opts.Kind, "language": opts.Language, "license": opts.License, "publisher": opts.Publisher} {
		if v != "" {
			q.Set(k, v)
		}
	}
	for _, t := range opts.Tags {
		q.Add("tag", t)
	}
	if opts.Limit != 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	if opts.Local {
		q.Set("local", "true")
	}
	resp, err := c.request(ctx, http.MethodGet, "/search", q, nil, "")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 4096), 1<<24)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var line apitype.SearchLine
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return nil, fmt.Errorf("api /search: bad stream line: %w", err)
		}
		switch {
		case line.Done != nil:
			return line.Done.Results, nil
		case line.Error != "" || line.Code != "":
			code := line.Code
			if code == "" {
				code = apitype.CodeInternal
			}
			return nil, &apitype.Error{Code: code, Msg: line.Error}
		case line.Result != nil && onResult != nil:
			onResult(*line.Result)
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("api /search: %w", err)
	}
	return nil, fmt.Errorf("api /search: the stream ended without a result")
}
