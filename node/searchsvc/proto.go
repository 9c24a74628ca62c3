package searchsvc

import (
	"bufio"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/myconet/myconet/node/internal/svc"
	"github.com/myconet/myconet/search"
)

// Limits of the search protocol and the term announcer.
const (
	searchStreamTimeout  = 5 * time.Second // one request and its response
	searchProviderWait   = 3 * time.Second // looking up providers of the rarest terms
	searchRareTerms      = 2               // terms whose providers are looked up
	searchWave           = 32              // providers asked at once
	searchMaxAsked       = 128             // providers asked per query, in waves
	searchFallbackPeers  = 8               // connected peers asked when no provider is found
	searchPerPeer        = 4               // concurrent requests served per peer
	searchServed         = 32              // concurrent requests served in all
	announceWorkers      = 8               // concurrent term announcements
	announceCheckEvery   = time.Hour       // how often the announcer looks for due terms
	searchResponderLimit = 2               // ask responders for limit × this results
	// reannounceEvery is how often held terms are announced again: the
	// node's reprovide interval, so that provider records outlive their
	// expiry while the node holds the terms.
	reannounceEvery = 12 * time.Hour
	provideTimeout  = 2 * time.Minute // one announcement
)

// searchServer answers /myconet/search/1.0.0.
type searchServer struct {
	s       *Service
	mu      sync.Mutex
	perPeer map[peer.ID]int // requests being served, by peer; guarded by mu
	total   int             // guarded by mu
}

func (s *searchServer) acquire(p peer.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.total >= searchServed || s.perPeer[p] >= searchPerPeer {
		return false
	}
	s.total++
	s.perPeer[p]++
	return true
}

func (s *searchServer) release(p peer.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total--
	if s.perPeer[p]--; s.perPeer[p] <= 0 {
		delete(s.perPeer, p)
	}
}

// handle serves one request: it is read with a deadline, refused (Reset)
// when malformed or over the concurrency limits, and answered with the
// node's best local results, each with its signed root block.
func (s *searchServer) handle(st network.Stream) {
	p := st.Conn().RemotePeer()
	if !s.acquire(p) {
		st.Reset()
		return
	}
	defer s.release(p)
	_ = st.SetDeadline(time.Now().Add(searchStreamTimeout))
	req, err := search.ReadRequest(bufio.NewReader(st))
	if err != nil {
		st.Reset()
		return
	}
	resp, err := s.s.Answer(req, s.s.withheld)
	if err != nil {
		st.Reset()
		return
	}
	out, err := resp.Encode()
	if err != nil {
		s.s.log.Debug("search: encode response", "err", err)
		st.Reset()
		return
	}
	if _, err := st.Write(out); err != nil {
		st.Reset()
		return
	}
	st.Close()
}

// Answer is the response to req: the node's best local results, without
// the packages withheld reports, each with its signed root block.
func (s *Service) Answer(req search.SearchRequest, withheld func(cid.Cid) bool) (search.SearchResponse, error) {
	q, err := search.ParseQuery(req.Query)
	if err != nil {
		return search.SearchResponse{}, err
	}
	res, resp, err := s.localSearch(q, req.Limit, withheld)
	if err != nil {
		return search.SearchResponse{}, err
	}
	for _, r := range res {
		c, err := cid.Decode(r.ID)
		if err != nil {
			continue
		}
		_, root, err := svc.PackageRoot(s.db, c)
		if err != nil {
			continue
		}
		resp.Results = append(resp.Results, search.WireResult{PackageCID: c, Score: r.Score, Holders: 1, Root: root})
	}
	resp.TrimToFit()
	return resp, nil
}

// run serves the search protocol and announces held terms until ctx
// ends. Start runs it on the service's goroutine.
func (s *Service) run(ctx context.Context, net Net) {
	srv := &searchServer{s: s, perPeer: map[peer.ID]int{}}
	net.Host.SetStreamHandler(protocol.ID(search.ProtocolID), srv.handle)
	defer net.Host.RemoveStreamHandler(protocol.ID(search.ProtocolID))
	if err := s.sync(); err != nil { // build the index from the store
		s.log.Warn("search: cannot build the index", "err", err)
	}
	s.announceTerms(ctx, net)
}

// announceTerms provides TermCID(term) for every term of every indexed
// package: new terms soon after a change, all of them again every
// reannounceEvery. Terms no longer held are not withdrawn: their provider
// records expire.
func (s *Service) announceTerms(ctx context.Context, net Net) {
	kick := s.kick
	announced := map[string]time.Time{}
	synced := time.Now() // run synced
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// Pins that changed unseen (cache evicted to make room)
			// leave the index here, within the hour.
			if time.Since(synced) >= announceCheckEvery {
				if err := s.sync(); err != nil {
					s.log.Warn("search: index sync failed", "err", err)
				}
				synced = time.Now()
			}
		case <-kick:
		}
		if net.DHT.RoutingTable().Size() == 0 {
			t.Reset(time.Second) // wait for someone to tell
			continue
		}
		now := time.Now()
		s.mu.RLock()
		gen := s.gen
		s.mu.RUnlock()
		var due []string
		for _, term := range s.heldTerms() {
			if at, ok := announced[term]; !ok || now.Sub(at) >= reannounceEvery {
				due = append(due, term)
			}
		}
		var (
			wg   sync.WaitGroup
			sem  = make(chan struct{}, announceWorkers)
			mu   sync.Mutex
			done int
		)
		for _, term := range due {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
			}
			if ctx.Err() != nil {
				break
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				s.provide(ctx, net.DHT, search.TermCID(term))
				mu.Lock()
				announced[term] = time.Now()
				done++
				mu.Unlock()
			}()
		}
		wg.Wait()
		s.mu.Lock()
		s.annGen = max(s.annGen, gen)
		s.mu.Unlock()
		if len(due) > 0 && ctx.Err() == nil {
			s.log.Debug("search: announced terms", "terms", done, "took", time.Since(now))
		}
		t.Reset(announceCheckEvery)
	}
}

// remoteSearch asks the nodes that announce the query's rarest terms, in
// waves of searchWave in parallel, and calls onResponse (serialized) with
// each valid response. After a wave it asks the next only if more() says
// the answer may still change (the searcher's top results moved). It
// returns when no wave is left or ctx ends.
func (s *Service) remoteSearch(ctx context.Context, net *Net, q search.Query, limit int, onResponse func(from string, resp search.SearchResponse), more func() bool, asked *int) {
	peers := s.searchPeers(ctx, net, q)
	if len(peers) == 0 {
		return
	}
	reqLimit := min(search.MaxResults, limit*searchResponderLimit)
	req, err := search.SearchRequest{Query: q.String(), Limit: reqLimit}.Encode()
	if err != nil {
		s.log.Debug("search: encode request", "err", err)
		return
	}
	type answer struct {
		from string
		resp search.SearchResponse
	}
	for len(peers) > 0 && ctx.Err() == nil {
		wave := peers[:min(searchWave, len(peers))]
		peers = peers[len(wave):]
		*asked += len(wave)
		answers := make(chan answer, len(wave))
		var wg sync.WaitGroup
		for _, p := range wave {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := s.askSearch(ctx, net, p, req)
				if err != nil {
					s.log.Debug("search: peer did not answer", "peer", p, "err", err)
					return
				}
				answers <- answer{p.String(), resp}
			}()
		}
		go func() { wg.Wait(); close(answers) }()
		for a := range answers {
			onResponse(a.from, a.resp)
		}
		if len(peers) > 0 && !more() {
			return
		}
	}
}

// askSearch sends one request to p and reads its response.
func (s *Service) askSearch(ctx context.Context, net *Net, p peer.ID, req []byte) (search.SearchResponse, error) {
	sctx, cancel := context.WithTimeout(ctx, searchStreamTimeout)
	defer cancel()
	st, err := net.Host.NewStream(sctx, p, protocol.ID(search.ProtocolID)) // directly or relayed (Net.Host)
	if err != nil {
		return search.SearchResponse{}, err
	}
	defer st.Close()
	stop := context.AfterFunc(sctx, func() { st.Reset() })
	defer stop()
	if dl, ok := sctx.Deadline(); ok {
		_ = st.SetDeadline(dl)
	}
	if _, err := st.Write(req); err != nil {
		st.Reset()
		return search.SearchResponse{}, err
	}
	_ = st.CloseWrite()
	resp, err := search.ReadResponse(bufio.NewReader(st))
	if err != nil {
		st.Reset()
		return search.SearchResponse{}, err
	}
	return resp, nil
}

// searchPeers finds the nodes to ask: the providers of the query's rarest
// terms (by this node's document frequencies) and of its tag and kind
// filters (tags and kinds are indexed words too), those providing the most
// of them first, at most searchMaxAsked. With none found, the connected
// peers. The order among equals is random, so that the waves of different
// searchers spread over the holders.
func (s *Service) searchPeers(ctx context.Context, net *Net, q search.Query) []peer.ID {
	terms := q.RarestTerms(s.localDF, searchRareTerms)
	for _, tag := range q.Tags {
		terms = append(terms, strings.Fields(tag)...)
	}
	if q.Kind != "" {
		terms = append(terms, search.Terms(q.Kind)...)
	}
	slices.Sort(terms)
	terms = slices.Compact(terms)
	if len(terms) > search.MaxQueryTerms {
		terms = terms[:search.MaxQueryTerms]
	}
	pctx, cancel := context.WithTimeout(ctx, searchProviderWait)
	defer cancel()
	var (
		mu    sync.Mutex
		count = map[peer.ID]int{}
		wg    sync.WaitGroup
	)
	for _, term := range terms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ai := range net.DHT.FindProvidersAsync(pctx, search.TermCID(term), 0) {
				if ai.ID == s.self {
					continue
				}
				if len(ai.Addrs) > 0 {
					net.Host.Peerstore().AddAddrs(ai.ID, ai.Addrs, 10*time.Minute)
				}
				mu.Lock()
				count[ai.ID]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// A node holding a match provides every lookup term: ask those that
	// provide the most of them (all, once announcements are complete).
	best := 0
	for _, c := range count {
		best = max(best, c)
	}
	out := make([]peer.ID, 0, len(count))
	for p, c := range count {
		if c == best {
			out = append(out, p)
		}
	}
	if len(out) == 0 { // nobody announces: a small or young network
		for _, p := range net.Host.Network().Peers() {
			if p != s.self && len(out) < searchFallbackPeers {
				out = append(out, p)
			}
		}
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	sort.SliceStable(out, func(i, j int) bool { return count[out[i]] > count[out[j]] })
	if len(out) > searchMaxAsked {
		out = out[:searchMaxAsked]
	}
	return out
}

// provide announces this node as a provider of c.
func (s *Service) provide(ctx context.Context, d *dht.IpfsDHT, c cid.Cid) {
	pctx, cancel := context.WithTimeout(ctx, provideTimeout)
	defer cancel()
	if err := d.Provide(pctx, c, true); err != nil && !errors.Is(err, context.Canceled) {
		s.log.Debug("provide", "cid", c, "err", err)
	}
}
