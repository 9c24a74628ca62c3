package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/myconet/myconet/internal/directio"
)

// diskFloor returns how long this machine's disk takes for the I/O a
// `get -o FILE` of size bytes between two daemons on it must do, all at
// once and around the page cache, as the daemons do it: the sender reads
// the file (here: big, read direct), the receiver writes it into its store
// and into FILE (two direct writes of size bytes under work). No CPU work
// to speak of: this is the limit the disk sets, whatever the software.
func diskFloor(big, work string, size int64) (time.Duration, error) {
	var wg sync.WaitGroup
	errs := make([]error, 3)
	start := time.Now()
	wg.Go(func() { errs[0] = directRead(big) })
	for i := 1; i <= 2; i++ {
		p := filepath.Join(work, fmt.Sprintf("floor%d", i))
		defer os.Remove(p)
		wg.Go(func() { errs[i] = directWrite(p, size) })
	}
	wg.Wait()
	el := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return 0, fmt.Errorf("disk floor: %w", err)
		}
	}
	return el, nil
}

const floorChunk = 4 << 20

func directRead(p string) error {
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_DIRECT, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := directio.Bytes(floorChunk)
	for {
		_, err := f.Read(buf)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func directWrite(p string, size int64) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_DIRECT, 0o644)
	if err != nil {
		return err
	}
	buf := directio.Bytes(floorChunk)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	for done := int64(0); done < size; done += floorChunk {
		if _, err := f.Write(buf); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
