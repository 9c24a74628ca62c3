package content

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ipfs/go-cid"
	carv2 "github.com/ipld/go-car/v2"
	"github.com/ipld/go-car/v2/storage"
	mh "github.com/multiformats/go-multihash"
)

// MaxBlockSize is the largest block Myconet accepts from outside (a CAR or a
// peer). UnixFS chunks are 1 MiB; internal nodes are far smaller.
const MaxBlockSize = 2 << 20

// ErrBadCAR reports a CAR stream that is malformed or holds a block that does
// not match its CID.
var ErrBadCAR = errors.New("invalid CAR")

// WriteCAR writes a CARv1 stream with the given roots, holding every block each
// root reaches (each once, depth first).
func WriteCAR(ctx context.Context, bs Blocks, roots []cid.Cid, links func(cid.Cid, []byte) ([]cid.Cid, error), w io.Writer) error {
	car, err := storage.NewWritable(w, roots, carv2.WriteAsCarV1(true), carv2.AllowDuplicatePuts(false))
	if err != nil {
		return fmt.Errorf("car: %w", err)
	}
	for _, root := range roots {
		err := Walk(ctx, bs, root, links, func(c cid.Cid, data []byte) error {
			return car.Put(ctx, c.KeyString(), data)
		})
		if err != nil {
			return err
		}
	}
	return car.Finalize()
}

// ReadCAR reads a CARv1 or CARv2 stream, verifies every block against its CID
// and calls fn for each, in stream order. It accepts sha2-256 blocks of the
// raw, dag-pb and dag-cbor codecs up to MaxBlockSize. The data passed to fn is
// owned by fn.
func ReadCAR(ctx context.Context, r io.Reader, fn func(c cid.Cid, data []byte) error) (roots []cid.Cid, err error) {
	br, err := carv2.NewBlockReader(r, carv2.MaxAllowedSectionSize(MaxBlockSize+256), carv2.MaxAllowedHeaderSize(1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrBadCAR, err)
	}
	if len(br.Roots) == 0 {
		return nil, fmt.Errorf("%w: no roots", ErrBadCAR)
	}
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, rd, size, err := br.NextReader()
		if errors.Is(err, io.EOF) {
			return br.Roots, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: block %d: %v", ErrBadCAR, i, err)
		}
		if size > MaxBlockSize {
			return nil, fmt.Errorf("%w: block %d (%s): %d bytes exceeds the %d byte limit", ErrBadCAR, i, c, size, MaxBlockSize)
		}
		data, err := io.ReadAll(io.LimitReader(rd, MaxBlockSize+1))
		if err != nil {
			return nil, fmt.Errorf("%w: block %d: %v", ErrBadCAR, i, err)
		}
		if err := VerifyBlock(c, data); err != nil {
			return nil, fmt.Errorf("%w: block %d: %v", ErrBadCAR, i, err)
		}
		if err := fn(c, data); err != nil {
			return nil, err
		}
	}
}

// VerifyBlock checks that data hashes to c and that c is a kind of block
// Myconet stores.
func VerifyBlock(c cid.Cid, data []byte) error {
	p := c.Prefix()
	if p.MhType != mh.SHA2_256 {
		return fmt.Errorf("%s: unsupported hash 0x%x (want sha2-256)", c, p.MhType)
	}
	switch p.Codec {
	case cid.Raw, cid.DagProtobuf, cid.DagCBOR:
	default:
		return fmt.Errorf("%s: unsupported codec 0x%x", c, p.Codec)
	}
	if len(data) > MaxBlockSize {
		return fmt.Errorf("%s: %d bytes exceeds the %d byte limit", c, len(data), MaxBlockSize)
	}
	got, err := p.Sum(data)
	if err != nil {
		return fmt.Errorf("%s: %v", c, err)
	}
	if !got.Equals(c) {
		return fmt.Errorf("%s: bytes do not match the CID", c)
	}
	return nil
}
