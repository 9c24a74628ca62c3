package main

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"time"

	"github.com/myconet/myconet/node/apitype"
)

// getStreamer is the daemon client's raw download (node/client.OpenGet).
type getStreamer interface {
	OpenGet(ctx context.Context, ref string) (typ string, body io.ReadCloser, err error)
}

// treeSource is the store opened in-process (*node.Node).
type treeSource interface {
	Stat(ctx context.Context, ref string) (apitype.PathStat, error)
	WriteTar(ctx context.Context, ref string, w io.Writer) error
	Cat(ctx context.Context, ref string, w io.Writer) error
}

// getToStdout is `get -o -`: a file's bytes go to stdout, a directory goes
// as a tar stream whose one top directory is named like the directory
// `get` would have made, so `myconet get MRI -o - | tar x` makes the same
// tree as `myconet get MRI`. A tar stream is refused on a terminal.
func (c *cli) getToStdout(ctx context.Context, api apitype.API, ref string, info apitype.PackageInfo) error {
	typ, body, err := openGet(ctx, api, ref)
	if err != nil {
		return err
	}
	defer body.Close()
	if typ == "dir" && c.stdoutTTY {
		return errors.New("refusing to write a directory's tar stream to a terminal: redirect stdout (`myconet get MRI -o - | tar x`)")
	}
	w := bufio.NewWriterSize(c.stdout, 256<<10)
	if typ == "dir" {
		err = retar(body, w, defaultOutputName(info))
	} else {
		_, err = io.Copy(w, body)
	}
	if err != nil {
		return err
	}
	return w.Flush()
}

// openGet opens what ref names as "file" bytes or a "dir" tar stream of its
// contents, from a daemon or from the store in-process.
func openGet(ctx context.Context, api apitype.API, ref string) (string, io.ReadCloser, error) {
	if g, ok := api.(getStreamer); ok {
		return g.OpenGet(ctx, ref)
	}
	ts, ok := api.(treeSource)
	if !ok {
		return "", nil, errors.New("this node cannot stream a download")
	}
	st, err := ts.Stat(ctx, ref)
	if err != nil {
		return "", nil, err
	}
	typ := "file"
	write := ts.Cat
	if st.Type == "dir" {
		typ, write = "dir", ts.WriteTar
	}
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(write(ctx, ref, pw))
	}()
	return typ, &pipeBody{pr, done}, nil
}

// pipeBody is the read end of a writer goroutine; Close stops the writer
// and waits for it, so the store is not read after the caller closes it.
type pipeBody struct {
	*io.PipeReader
	done chan struct{}
}

func (b *pipeBody) Close() error {
	b.PipeReader.Close()
	<-b.done
	return nil
}

// retar copies the tar stream r to w with every entry moved under top/.
// It reads r to its end, where a daemon reports a late error.
func retar(r io.Reader, w io.Writer, top string) error {
	tr := tar.NewReader(r)
	tw := tar.NewWriter(w)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: top + "/", Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
		return err
	}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading the tar stream: %w", err)
		}
		h.Name = path.Join(top, h.Name)
		if h.Typeflag == tar.TypeDir {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
	if _, err := io.Copy(io.Discard, r); err != nil { // the trailer's error
		return err
	}
	return tw.Close()
}
