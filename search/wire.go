package search

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"unicode/utf8"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/metadata"
)

// ProtocolID is the stream protocol on which a node answers searches.
const ProtocolID = "/myconet/search/1.0.0"

// Wire limits.
const (
	MaxRequestSize  = 64 << 10 // bytes of a request body
	MaxResponseSize = 1 << 20  // bytes of a response body
	MaxResults      = 100      // results in a response, and SearchRequest.Limit
	maxHolders      = 1 << 24
	maxDocs         = 1 << 40
	maxCIDLen       = 128
	wireVersion     = 1
)

// SearchRequest asks a node for its best local results for a query.
//
// Wire format: a uvarint length, then the body: version byte 1, uvarint
// Limit, uvarint length of Query, Query. All uvarints are minimal.
type SearchRequest struct {
	Query string // the canonical text of the query (Query.String()), filters included
	Limit int    // 1..MaxResults
}

// SearchResponse is a node's answer: its best local results, and the corpus
// statistics its scores were computed with, so that a searcher can weigh
// scores from different nodes.
//
// Wire format: a uvarint length, then the body: version byte 1, uvarint
// Docs, uvarint len(DF), each DF, uvarint len(Results), and each result as
// uvarint CID length, CID bytes, score (8 bytes, IEEE 754 big-endian),
// uvarint Holders, uvarint root length, root block. All uvarints are
// minimal.
type SearchResponse struct {
	Docs    int          // documents in the responder's index
	DF      []int        // document frequency of each of the query's RequiredTerms, in order; ≤ MaxQueryTerms
	Results []WireResult // ≤ MaxResults, distinct package CIDs
}

// WireResult is one result of a SearchResponse.
type WireResult struct {
	PackageCID cid.Cid // CIDv1 dag-cbor: the package root block's CID
	Score      float64 // the responder's BM25F score; finite, ≥ 0
	Root       []byte  // the signed package root block, ≤ metadata.MaxPackageSize
	Holders    int     // how many nodes the responder knows to hold the package
}

// Encode returns the request with its length prefix. It fails with
// ErrMalformed if the request breaks a rule DecodeRequest enforces.
func (r SearchRequest) Encode() ([]byte, error) {
	switch {
	case r.Limit < 1 || r.Limit > MaxResults:
		return nil, fmt.Errorf("%w: request limit %d (want 1..%d)", ErrMalformed, r.Limit, MaxResults)
	case len(r.Query) > MaxQueryLen:
		return nil, fmt.Errorf("%w: request query of %d bytes", ErrQueryTooLong, len(r.Query))
	case !utf8.ValidString(r.Query):
		return nil, fmt.Errorf("%w: request query is not UTF-8", ErrMalformed)
	}
	body := []byte{wireVersion}
	body = binary.AppendUvarint(body, uint64(r.Limit))
	body = binary.AppendUvarint(body, uint64(len(r.Query)))
	body = append(body, r.Query...)
	return frame(body), nil
}

// DecodeRequest parses a request body (without its length prefix). It is
// strict: any body that Encode would not produce is refused with
// ErrMalformed (or ErrMessageTooLarge). It does not parse the query.
func DecodeRequest(body []byte) (SearchRequest, error) {
	if len(body) > MaxRequestSize {
		return SearchRequest{}, fmt.Errorf("%w: request of %d bytes (max %d)", ErrMessageTooLarge, len(body), MaxRequestSize)
	}
	d := decoder{b: body}
	d.version()
	limit := d.uvarint(MaxResults)
	q := d.bytes(MaxQueryLen)
	d.end()
	if d.err != nil {
		return SearchRequest{}, fmt.Errorf("%w: request: %v", ErrMalformed, d.err)
	}
	if limit == 0 {
		return SearchRequest{}, fmt.Errorf("%w: request: limit 0", ErrMalformed)
	}
	if !utf8.Valid(q) {
		return SearchRequest{}, fmt.Errorf("%w: request: query is not UTF-8", ErrMalformed)
	}
	return SearchRequest{Query: string(q), Limit: int(limit)}, nil
}

// ReadRequest reads one length-prefixed request from r, refusing a length
// over MaxRequestSize before reading the body.
func ReadRequest(r io.Reader) (SearchRequest, error) {
	body, err := readFrame(r, MaxRequestSize)
	if err != nil {
		return SearchRequest{}, fmt.Errorf("request: %w", err)
	}
	return DecodeRequest(body)
}

// Encode returns the response with its length prefix. It fails with
// ErrMessageTooLarge when the body would exceed MaxResponseSize (see
// TrimToFit) and with ErrMalformed if the response breaks another rule
// DecodeResponse enforces.
func (r *SearchResponse) Encode() ([]byte, error) {
	body, err := r.body()
	if err != nil {
		return nil, err
	}
	if len(body) > MaxResponseSize {
		return nil, fmt.Errorf("%w: response of %d bytes (max %d)", ErrMessageTooLarge, len(body), MaxResponseSize)
	}
	return frame(body), nil
}

// TrimToFit drops results from the end until the response fits in
// MaxResponseSize and MaxResults.
func (r *SearchResponse) TrimToFit() {
	if len(r.Results) > MaxResults {
		r.Results = r.Results[:MaxResults]
	}
	size := r.headerSize()
	for i, res := range r.Results {
		size += resultSize(res)
		if size > MaxResponseSize {
			r.Results = r.Results[:i]
			return
		}
	}
}

func (r *SearchResponse) headerSize() int {
	n := 1 + uvarintLen(uint64(r.Docs)) + uvarintLen(uint64(len(r.DF))) + uvarintLen(uint64(len(r.Results)))
	for _, df := range r.DF {
		n += uvarintLen(uint64(df))
	}
	return n
}

func resultSize(res WireResult) int {
	c := len(res.PackageCID.Bytes())
	return uvarintLen(uint64(c)) + c + 8 + uvarintLen(uint64(res.Holders)) +
		uvarintLen(uint64(len(res.Root))) + len(res.Root)
}

func uvarintLen(v uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], v)
}

func (r *SearchResponse) body() ([]byte, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: response: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
	switch {
	case r.Docs < 0 || r.Docs > maxDocs:
		return nil, bad("docs %d", r.Docs)
	case len(r.DF) > MaxQueryTerms:
		return nil, bad("%d DF values (max %d)", len(r.DF), MaxQueryTerms)
	case len(r.Results) > MaxResults:
		return nil, bad("%d results (max %d)", len(r.Results), MaxResults)
	}
	body := make([]byte, 0, r.headerSize()+len(r.Results)*1024)
	body = append(body, wireVersion)
	body = binary.AppendUvarint(body, uint64(r.Docs))
	body = binary.AppendUvarint(body, uint64(len(r.DF)))
	for _, df := range r.DF {
		if df < 0 || df > maxDocs {
			return nil, bad("DF %d", df)
		}
		body = binary.AppendUvarint(body, uint64(df))
	}
	body = binary.AppendUvarint(body, uint64(len(r.Results)))
	seen := make(map[string]bool, len(r.Results))
	for _, res := range r.Results {
		if err := checkCID(res.PackageCID); err != nil {
			return nil, bad("%v", err)
		}
		k := res.PackageCID.KeyString()
		switch {
		case seen[k]:
			return nil, bad("duplicate result %s", res.PackageCID)
		case !validScore(res.Score):
			return nil, bad("score %v", res.Score)
		case res.Holders < 0 || res.Holders > maxHolders:
			return nil, bad("holders %d", res.Holders)
		case len(res.Root) == 0 || len(res.Root) > metadata.MaxPackageSize:
			return nil, bad("root block of %d bytes", len(res.Root))
		}
		seen[k] = true
		body = binary.AppendUvarint(body, uint64(len(k)))
		body = append(body, k...)
		body = binary.BigEndian.AppendUint64(body, math.Float64bits(res.Score))
		body = binary.AppendUvarint(body, uint64(res.Holders))
		body = binary.AppendUvarint(body, uint64(len(res.Root)))
		body = append(body, res.Root...)
	}
	return body, nil
}

func validScore(s float64) bool {
	return !math.IsNaN(s) && !math.IsInf(s, 0) && s >= 0 && !(s == 0 && math.Signbit(s))
}

// checkCID accepts CIDv1 dag-cbor CIDs: package CIDs.
func checkCID(c cid.Cid) error {
	if !c.Defined() || c.Version() != 1 || c.Type() != cid.DagCBOR {
		return fmt.Errorf("not a package CID: %v", c)
	}
	return nil
}

// DecodeResponse parses a response body (without its length prefix). It is
// strict: any body that Encode would not produce is refused with
// ErrMalformed (or ErrMessageTooLarge). It does not decode or verify the
// root blocks; see VerifyResult. Root slices alias body.
func DecodeResponse(body []byte) (SearchResponse, error) {
	if len(body) > MaxResponseSize {
		return SearchResponse{}, fmt.Errorf("%w: response of %d bytes (max %d)", ErrMessageTooLarge, len(body), MaxResponseSize)
	}
	d := decoder{b: body}
	var r SearchResponse
	d.version()
	r.Docs = int(d.uvarint(maxDocs))
	if n := d.uvarint(MaxQueryTerms); n > 0 {
		r.DF = make([]int, n)
		for i := range r.DF {
			r.DF[i] = int(d.uvarint(maxDocs))
		}
	}
	if n := d.uvarint(MaxResults); n > 0 && d.err == nil {
		r.Results = make([]WireResult, 0, n)
		seen := make(map[string]bool, n)
		for range n {
			var res WireResult
			k := d.bytes(maxCIDLen)
			score := d.fixed64()
			res.Holders = int(d.uvarint(maxHolders))
			res.Root = d.bytes(metadata.MaxPackageSize)
			if d.err != nil {
				break
			}
			c, err := cid.Cast(k)
			switch {
			case err != nil:
				d.err = fmt.Errorf("bad CID: %v", err)
			case !bytes.Equal(c.Bytes(), k):
				d.err = errors.New("non-canonical CID")
			case checkCID(c) != nil:
				d.err = checkCID(c)
			case seen[string(k)]:
				d.err = fmt.Errorf("duplicate result %s", c)
			case !validScore(score):
				d.err = fmt.Errorf("score %v", score)
			case len(res.Root) == 0:
				d.err = errors.New("empty root block")
			}
			if d.err != nil {
				break
			}
			seen[string(k)] = true
			res.PackageCID, res.Score = c, score
			r.Results = append(r.Results, res)
		}
	}
	d.end()
	if d.err != nil {
		return SearchResponse{}, fmt.Errorf("%w: response: %v", ErrMalformed, d.err)
	}
	return r, nil
}

// ReadResponse reads one length-prefixed response from r, refusing a
// length over MaxResponseSize before reading the body.
func ReadResponse(r io.Reader) (SearchResponse, error) {
	body, err := readFrame(r, MaxResponseSize)
	if err != nil {
		return SearchResponse{}, fmt.Errorf("response: %w", err)
	}
	return DecodeResponse(body)
}

// VerifyResult decodes the root block of res and checks that it is the
// package res names and that its signature verifies. Any failure wraps
// ErrResultMismatch; the searcher drops such a result (and should then
// check the package with Match).
func VerifyResult(res WireResult) (*metadata.Package, error) {
	p, err := metadata.Decode(res.Root)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrResultMismatch, err)
	}
	c, err := p.CID()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrResultMismatch, err)
	}
	if !c.Equals(res.PackageCID) {
		return nil, fmt.Errorf("%w: root block is %s, not %s", ErrResultMismatch, c, res.PackageCID)
	}
	if err := p.Verify(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrResultMismatch, err)
	}
	return p, nil
}

// frame prepends the uvarint length of body.
func frame(body []byte) []byte {
	out := binary.AppendUvarint(make([]byte, 0, len(body)+binary.MaxVarintLen32), uint64(len(body)))
	return append(out, body...)
}

// readFrame reads a uvarint length (1..max) and that many bytes.
func readFrame(r io.Reader, max int) ([]byte, error) {
	br, ok := r.(io.ByteReader)
	if !ok {
		br = byteReader{r}
	}
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return nil, err
	}
	if n == 0 || n > uint64(max) {
		return nil, fmt.Errorf("%w: length %d (want 1..%d)", ErrMessageTooLarge, n, max)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return body, nil
}

// byteReader reads single bytes from an io.Reader without buffering ahead,
// so that the bytes after the length prefix stay in r.
type byteReader struct{ r io.Reader }

func (b byteReader) ReadByte() (byte, error) {
	var buf [1]byte
	_, err := io.ReadFull(b.r, buf[:])
	return buf[0], err
}

// decoder reads a message body; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) version() {
	if len(d.b) == 0 {
		d.err = io.ErrUnexpectedEOF
		return
	}
	if d.b[0] != wireVersion {
		d.err = fmt.Errorf("unknown version %d", d.b[0])
		return
	}
	d.b = d.b[1:]
}

// uvarint reads a minimal uvarint no larger than max.
func (d *decoder) uvarint(max uint64) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	switch {
	case n == 0:
		d.err = io.ErrUnexpectedEOF
	case n < 0:
		d.err = errors.New("uvarint overflow")
	case n != uvarintLen(v):
		d.err = errors.New("non-minimal uvarint")
	case v > max:
		d.err = fmt.Errorf("value %d exceeds %d", v, max)
	}
	if d.err != nil {
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bytes reads a uvarint length no larger than max and that many bytes.
func (d *decoder) bytes(max uint64) []byte {
	n := d.uvarint(max)
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = io.ErrUnexpectedEOF
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) fixed64() float64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.err = io.ErrUnexpectedEOF
		return 0
	}
	v := math.Float64frombits(binary.BigEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}

func (d *decoder) end() {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d trailing bytes", len(d.b))
	}
}
