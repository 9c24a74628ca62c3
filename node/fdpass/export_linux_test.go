package fdpass

import "os"

// NewBufferedFileWriter is a FileWriter that does not try O_DIRECT, as on a
// file system that refuses it.
func NewBufferedFileWriter(f *os.File) *FileWriter { return newFileWriter(f, false) }
