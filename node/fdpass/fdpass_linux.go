package fdpass

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Supported reports whether descriptors can be passed on this system.
const Supported = true

// maxFiles is how many descriptors one connection may bring; more are
// closed on arrival.
const maxFiles = 1

// Listen listens on the Unix socket path, removing a stale socket file
// left there first (never anything else), and makes it accessible to mode
// (0600, or 0660 for the operator group).
func Listen(path string, mode os.FileMode) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("fdpass: %s exists and is not a socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("fdpass: remove stale %s: %w", path, err)
		}
	}
	// The socket gets the umask's mode until the chmod below. Others are
	// out meanwhile: the node's home is 0700 (0750 for the operator group),
	// and connecting takes write permission on the socket, which a usual
	// umask (022) does not give them.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("fdpass: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("fdpass: %w", err)
	}
	return listener{ln}, nil
}

type listener struct{ *net.UnixListener }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.AcceptUnix()
	if err != nil {
		return nil, err
	}
	return &Conn{UnixConn: c}, nil
}

// Conn is a connection of a Listen listener: it keeps the descriptors that
// arrive with its bytes until a handler takes them (Take) or it closes.
type Conn struct {
	*net.UnixConn
	oob []byte

	mu    sync.Mutex
	files []*os.File
}

// Read reads bytes and whatever descriptors come with them.
func (c *Conn) Read(p []byte) (int, error) {
	if c.oob == nil {
		c.oob = make([]byte, unix.CmsgSpace(4*4))
	}
	// net reads control messages with MSG_CMSG_CLOEXEC on Linux: the
	// descriptors never leak into a child process.
	n, oobn, _, _, err := c.ReadMsgUnix(p, c.oob)
	if oobn > 0 {
		c.keep(c.oob[:oobn])
	}
	if n < 0 { // ReadMsgUnix passes on the system call's -1 with an error
		n = 0
	}
	return n, err
}

// keep parses control messages and keeps the descriptors they carry, at
// most maxFiles per connection.
func (c *Conn) keep(oob []byte) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range msgs {
		fds, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if len(c.files) >= maxFiles {
				unix.Close(fd)
				continue
			}
			c.files = append(c.files, os.NewFile(uintptr(fd), "passed file"))
		}
	}
}

// Take returns the file that came over the connection, or nil; the caller
// closes it.
func (c *Conn) Take() *os.File {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.files) == 0 {
		return nil
	}
	f := c.files[0]
	c.files = c.files[1:]
	return f
}

// Close closes the connection and any file no handler took.
func (c *Conn) Close() error {
	c.mu.Lock()
	for _, f := range c.files {
		f.Close()
	}
	c.files = nil
	c.mu.Unlock()
	return c.UnixConn.Close()
}

// Dial connects to the Unix socket path; the first bytes written on the
// connection carry f's descriptor. The caller keeps f open until the
// exchange is over.
func Dial(ctx context.Context, path string, f *os.File) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	sc, err := f.SyscallConn()
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("fdpass: %w", err)
	}
	return &sendConn{UnixConn: c.(*net.UnixConn), file: sc}, nil
}

// sendConn sends its file's descriptor with its first write.
type sendConn struct {
	*net.UnixConn
	file interface {
		Control(func(fd uintptr)) error
	}
	sent bool
}

func (c *sendConn) Write(p []byte) (int, error) {
	if c.sent || len(p) == 0 {
		return c.UnixConn.Write(p)
	}
	c.sent = true
	var n int
	var err error
	cerr := c.file.Control(func(fd uintptr) {
		n, _, err = c.WriteMsgUnix(p, unix.UnixRights(int(fd)), nil)
	})
	if cerr != nil {
		return 0, fmt.Errorf("fdpass: %w", cerr)
	}
	if err != nil || n == len(p) {
		return n, err
	}
	m, err := c.UnixConn.Write(p[n:]) // the descriptor went with the first part
	return n + m, err
}
