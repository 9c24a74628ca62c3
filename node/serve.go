package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/fdpass"
	"github.com/myconet/myconet/node/httpapi"
	"github.com/myconet/myconet/node/httpx"
)

// RunOptions configures Run.
type RunOptions struct {
	// APIAddr and GatewayAddr are host:port addresses to listen on; "" takes
	// the config file's, "none" disables that server. Port 0 picks a free port.
	APIAddr, GatewayAddr string
	// GroupAccess makes <home>/api and <home>/api.token readable by the
	// home's group (mode 0640, else 0600), so that the CLI of users in that
	// group reaches the daemon: the operator group of a system service
	// (contrib/systemd). The home itself must let the group in (0750).
	GroupAccess bool
	// Ready, if non-nil, is called once with the addresses actually bound
	// ("" for a disabled server) when both listen and <home>/api is written.
	Ready func(api, gateway string)
	// UI, if non-nil, returns the web app's handler (given the API token);
	// the API listener serves it under /ui/ (node/webui; it cannot be
	// imported here).
	UI func(token string) http.Handler
}

// shutdownGrace is how long Run lets in-flight requests, their contexts
// cancelled, take to return before it drops their connections.
const shutdownGrace = time.Second

// Run serves the HTTP API and the gateway until ctx ends: the daemon. It
// creates <home>/api.token (a random 32-byte hex token, mode 0600) if it is
// missing, listens, writes the API's bound address to <home>/api for clients
// (see node/client.FromHome), and marks the node online for Status. When ctx
// ends it says so in the log and shuts both servers down promptly: in-flight
// requests are cancelled at once (an add leaves nothing, a download ends)
// and get shutdownGrace to return before their connections are dropped. It
// removes <home>/api and returns nil, or the first error a server failed
// with. Run may be called again after it returns, but not concurrently.
func (n *Node) Run(ctx context.Context, opts RunOptions) (reterr error) {
	n.mu.Lock()
	if n.online {
		n.mu.Unlock()
		return apitype.Errorf(apitype.CodeInvalid, "run: the node is already serving")
	}
	apiAddr, gwAddr := opts.APIAddr, opts.GatewayAddr
	if apiAddr == "" {
		apiAddr = n.cfg.API.Address
	}
	if gwAddr == "" {
		gwAddr = n.cfg.Gateway.Address
	}
	n.online = true // reserve; reset on every return path below
	n.started = n.now()
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		n.online, n.apiAddr, n.gwAddr = false, "", ""
		n.mu.Unlock()
	}()

	fileMode := os.FileMode(0o600)
	if opts.GroupAccess {
		fileMode = 0o640
	}
	token, err := n.loadOrCreateToken(fileMode)
	if err != nil {
		return err
	}
	if err := n.StartNetwork(ctx); err != nil {
		return err
	}
	defer n.stopNetwork()

	// Everything after the listeners exist must close them on failure.
	var closers []func()
	defer func() {
		if reterr != nil {
			for _, c := range closers {
				c()
			}
		}
	}()
	var servers []*http.Server
	var listeners []net.Listener
	baseCtx, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	serve := func(ln net.Listener, h http.Handler) {
		closers = append(closers, func() { ln.Close() })
		srv := &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			BaseContext:       func(net.Listener) context.Context { return baseCtx },
			ConnContext:       fdpass.ConnContext,
			ErrorLog:          nil,
		}
		servers = append(servers, srv)
		listeners = append(listeners, ln)
	}
	listen := func(what, addr string, h http.Handler) (string, error) {
		if addr == "" || addr == "none" {
			return "", nil
		}
		if !httpx.LoopbackHost(addr, false) {
			n.log.Warn(what+" listens on a non-loopback address; it only answers requests whose Host is loopback", "addr", addr)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return "", fmt.Errorf("%s: listen: %w", what, err)
		}
		serve(ln, h)
		return ln.Addr().String(), nil
	}
	api := n.observeHTTP("api", withUI(httpapi.New(n, token, n.log), opts.UI, token))
	apiBound, err := listen("api", apiAddr, api)
	if err != nil {
		return err
	}
	if apiBound != "" && fdpass.Supported {
		// The same API on a Unix socket, for this machine's CLI: cheaper
		// than loopback TCP, and get hands the daemon its file over it.
		// Without it (a home path too long for a socket name) the CLI
		// uses TCP.
		sock := filepath.Join(n.home, apitype.SocketFile)
		if ln, err := fdpass.Listen(sock, fileMode); err != nil {
			n.log.Info("no unix socket for the api; clients use its tcp address", "err", err)
		} else {
			serve(ln, api)
		}
	}
	gwBound, err := listen("gateway", gwAddr, n.GatewayHandler())
	if err != nil {
		return err
	}

	apiFile := filepath.Join(n.home, apitype.APIFile)
	if apiBound != "" {
		if err := writeFileAtomic(apiFile, []byte(apiBound+"\n"), fileMode); err != nil {
			return fmt.Errorf("api: %w", err)
		}
	}
	defer func() {
		if apiBound != "" {
			if err := os.Remove(apiFile); err != nil && !errors.Is(err, os.ErrNotExist) {
				n.log.Warn("cannot remove the api file", "path", apiFile, "err", err)
			}
		}
	}()

	n.mu.Lock()
	n.started = n.now()
	n.apiAddr, n.gwAddr = apiBound, gwBound
	n.mu.Unlock()

	errc := make(chan error, len(servers))
	var wg sync.WaitGroup
	for i, srv := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(listeners[i]); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	closers = nil // the servers own the listeners now
	n.log.Info("serving", "api", apiBound, "gateway", gwBound)
	if opts.Ready != nil {
		opts.Ready(apiBound, gwBound)
	}

	var first error
	select {
	case <-ctx.Done():
		n.log.Info("shutting down: cancelling in-flight requests")
	case first = <-errc:
		n.log.Error("server failed", "err", first)
	}
	// A download or an add in flight would hold the daemon for as long as
	// it runs: the one who stops the daemon wants it stopped.
	cancelBase()

	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	var swg sync.WaitGroup
	for _, srv := range servers {
		swg.Add(1)
		go func() {
			defer swg.Done()
			if err := srv.Shutdown(sctx); err != nil {
				srv.Close() // drop the connections of handlers still blocked
			}
		}()
	}
	swg.Wait()
	wg.Wait()
	n.log.Info("stopped serving")
	return first
}

// loadOrCreateToken returns the API token from <home>/api.token, creating
// the file with a random token if it is missing, and gives it mode.
func (n *Node) loadOrCreateToken(mode os.FileMode) (string, error) {
	path := filepath.Join(n.home, apitype.TokenFile)
	data, err := os.ReadFile(path)
	if err == nil {
		if tok := strings.TrimSpace(string(data)); tok != "" {
			if err := os.Chmod(path, mode); err != nil {
				return "", fmt.Errorf("api: token: %w", err)
			}
			return tok, nil
		}
		return "", apitype.Errorf(apitype.CodeInvalid, "api: %s is empty; delete it to get a new token", path)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("api: token: %w", err)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("api: token: %w", err)
	}
	tok := hex.EncodeToString(b[:])
	if err := writeFileAtomic(path, []byte(tok+"\n"), mode); err != nil {
		return "", fmt.Errorf("api: token: %w", err)
	}
	return tok, nil
}

// writeFileAtomic writes data to path through a temporary file and a rename,
// so readers never see a partial file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// gatewayPort returns the port of the running gateway, or of the configured
// address, or of DefaultGatewayAddr when neither has one.
func (n *Node) gatewayPort() string {
	n.mu.Lock()
	addr := n.gwAddr
	if addr == "" {
		addr = n.cfg.Gateway.Address
	}
	n.mu.Unlock()
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "0" || port == "" {
		_, port, _ = net.SplitHostPort(config.DefaultGatewayAddr)
	}
	return port
}

// withUI mounts the web app under /ui/ next to the API (and sends a browser
// that opens the bare address there).
func withUI(api http.Handler, ui func(token string) http.Handler, token string) http.Handler {
	if ui == nil {
		return api
	}
	mux := http.NewServeMux()
	mux.Handle("/", api)
	mux.Handle("/ui/", ui(token))
	mux.Handle("GET /{$}", http.RedirectHandler("/ui/", http.StatusSeeOther))
	return mux
}
