// Command nettool is the TCP end of the namespace tests: a server that
// answers each connection with the length and SHA-256 of what it received,
// and a client that sends deterministic bytes and checks the answer.
//
//	nettool serve ADDR:PORT           (prints "ready ADDR:PORT" once listening)
//	nettool send [-timeout 5s] [-rate B/s] ADDR:PORT BYTES
//	nettool http ADDR:PORT TEXT       (answers every HTTP request with TEXT)
//
// send prints one JSON line {"bytes":N,"seconds":S,"connect_seconds":C}
// and exits 0 when the server saw exactly the bytes sent; otherwise it
// prints one line saying what went wrong and exits 1.
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/myconet/myconet/internal/fixture"
)

func main() {
	if len(os.Args) < 2 {
		fail(errors.New("usage: nettool serve ADDR:PORT | nettool send [-timeout D] ADDR:PORT BYTES"))
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "send":
		err = send(os.Args[2:])
	case "http":
		err = serveHTTP(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q (want serve or send)", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "nettool:", err)
	os.Exit(1)
}

func serve(args []string) error {
	if len(args) != 1 {
		return errors.New("serve: want ADDR:PORT")
	}
	ln, err := net.Listen("tcp", args[0])
	if err != nil {
		return err
	}
	fmt.Printf("ready %s\n", ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			h := sha256.New()
			n, err := io.Copy(h, c)
			if err != nil {
				fmt.Fprintf(c, "error %v\n", err)
				return
			}
			fmt.Fprintf(c, "%d %s\n", n, hex.EncodeToString(h.Sum(nil)))
		}()
	}
}

func send(args []string) error {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 5*time.Second, "connect timeout; the transfer then has 10x as long")
	rate := fs.Int64("rate", 0, "bytes per second, sent in 16 KiB writes (0: as fast as possible)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return errors.New("send: want ADDR:PORT BYTES")
	}
	size, err := strconv.ParseInt(fs.Arg(1), 10, 64)
	if err != nil || size < 0 {
		return fmt.Errorf("send: BYTES: want a count, got %q", fs.Arg(1))
	}
	start := time.Now()
	c, err := net.DialTimeout("tcp", fs.Arg(0), *timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	connected := time.Since(start)
	c.SetDeadline(time.Now().Add(10 * *timeout))
	h := sha256.New()
	data := fixture.Bytes(1, 1<<20)
	step := int64(len(data))
	if *rate > 0 {
		step = 16 << 10
	}
	for left := size; left > 0; {
		if *rate > 0 { // keep to the rate: the sent bytes are due at sent/rate
			due := start.Add(time.Duration(float64(size-left) / float64(*rate) * float64(time.Second)))
			time.Sleep(time.Until(due))
		}
		off := (size - left) % int64(len(data))
		chunk := data[off:min(off+min(left, step), int64(len(data)))]
		if _, err := c.Write(chunk); err != nil {
			return fmt.Errorf("send: after %d bytes: %w", size-left, err)
		}
		h.Write(chunk)
		left -= int64(len(chunk))
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("send: reading the answer: %w", err)
	}
	want := fmt.Sprintf("%d %s", size, hex.EncodeToString(h.Sum(nil)))
	if got := strings.TrimSpace(line); got != want {
		return fmt.Errorf("send: server answered %q, want %q", got, want)
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"bytes":           size,
		"seconds":         time.Since(start).Seconds(),
		"connect_seconds": connected.Seconds(),
	})
}

func serveHTTP(args []string) error {
	if len(args) != 2 {
		return errors.New("http: want ADDR:PORT TEXT")
	}
	ln, err := net.Listen("tcp", args[0])
	if err != nil {
		return err
	}
	fmt.Printf("ready %s\n", ln.Addr())
	return http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, args[1])
	}))
}
