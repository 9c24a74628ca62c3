//go:build !linux

package fdpass

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
)

// Supported reports whether descriptors can be passed on this system.
const Supported = false

var errUnsupported = errors.New("fdpass: passing files is only supported on Linux")

// Listen fails: see Supported.
func Listen(path string, mode os.FileMode) (net.Listener, error) { return nil, errUnsupported }

// Dial fails: see Supported.
func Dial(ctx context.Context, path string, f *os.File) (net.Conn, error) {
	return nil, errUnsupported
}

// Check reports whether f is a regular, empty file.
func Check(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("the passed file: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Size() != 0 {
		return errors.New("the passed file is not an empty regular file")
	}
	return nil
}

// FileWriter writes a file sequentially, buffered.
type FileWriter struct{ w io.Writer }

// NewFileWriter returns a writer of f from its current offset.
func NewFileWriter(f *os.File) *FileWriter { return &FileWriter{f} }

// Direct reports false: no direct writes here.
func (w *FileWriter) Direct() bool { return false }

// Write implements io.Writer.
func (w *FileWriter) Write(p []byte) (int, error) { return w.w.Write(p) }

// Close does nothing; it does not close the file.
func (w *FileWriter) Close() error { return nil }
