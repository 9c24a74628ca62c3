// Package search is the pure core of Myconet's keyword search: the
// tokenizer, documents, the query language, an in-memory inverted index with
// BM25F ranking, and the messages of the /myconet/search/1.0.0 protocol.
// The node wires it to the store and the DHT.
//
// The package is pure: no goroutines, no I/O beyond the io.Reader a caller
// hands to ReadRequest and ReadResponse, no logging. It never imports
// libp2p, bbolt or node.
//
// # Terms
//
// Terms normalizes text to NFKC, folds case (golang.org/x/text/cases Fold,
// so "Straße" and "STRASSE" both give "strasse"), and normalizes to NFKC
// again. It then splits the text on every rune that is not a letter, a
// number or a combining mark (marks stay with the letter before them).
// Runs of scripts written without spaces between words — Han, Hiragana and
// Katakana (together), Hangul, Thai, Lao, Khmer, Myanmar — become
// overlapping bigrams of characters ("分布式搜索" gives 分布 布式 式搜 搜索),
// and a run of one character is a term by itself; a change of script ends a
// run, so "iPhone手机" gives iphone and 手机. Terms longer than MaxTermLen
// bytes are dropped. There are no stop words and no stemming.
//
// For every term of every package it holds, a node provides TermCID(term)
// in the DHT: CIDv1(raw, SHA2-256 multihash of TermKey(term)), where
// TermKey is SHA-256("myconet-term/v1/" + term).
//
// # Documents
//
// A Doc is the searchable form of a package (DocFromMeta). Its text fields
// and their BM25F weights are: title 3, tags 2, authors 1.5, description 1,
// annotations 0.5 and kind 0.3 (the kind is indexed as a word so that
// "video" finds videos). Language, license and publisher are filters only:
// indexing "en" as a word would make every English package a provider of
// it. The values of a multi-valued field (tags, authors, annotations) are
// far apart in positions, so no phrase spans two of them.
//
// # Queries
//
// See ParseQuery for the syntax. Words are ANDed; a phrase matches
// consecutive terms in one field; -word and -"phrase" exclude; filters are
// kind:, lang: (language:), tag:, license: and publisher:. A query needs a
// word or phrase (ErrEmptyQuery) and is bounded: MaxQueryLen bytes,
// MaxQueryTerms terms, MaxQueryPhrases phrases. Query.String is a
// canonical form that ParseQuery reads back to the same Query; it is what
// a searcher sends to responders, filters included.
//
// # Ranking
//
// Index.Search ranks matching documents with BM25F (k1 = 1.2, b = 0.75):
// for each required term, the term frequency of each field is multiplied by
// the field weight and divided by the field's length normalization
// 1 − b + b·len/avglen, summed over the fields (avglen is the mean over
// the documents where the field is not empty, so that a field most
// documents lack, such as tags, does not punish those that have it), saturated as
// tf·(k1+1)/(tf+k1) and multiplied by idf = ln(1 + (N − df + 0.5)/(df + 0.5)).
// Excluded terms do not score. Ties go to the smaller ID, so results are
// deterministic.
//
// # Protocol
//
// A searcher sends a SearchRequest (the canonical query and a limit) and
// reads one SearchResponse: up to MaxResults results, each with the package
// CID, the responder's score, how many holders it knows, and the signed
// package root block, so that the searcher checks the metadata itself
// (VerifyResult, then Match) and drops results that fail. Both messages are
// a uvarint length and a compact binary body with strict decoders.
//
// A response also carries the responder's corpus statistics (documents,
// and the document frequency of each required term), so the searcher can
// estimate network-wide ones and rank the merged, verified results itself
// with Rank instead of trusting the scores responders claim.
package search
