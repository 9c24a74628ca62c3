package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
)

// loadSpec loads docs/openapi.yaml and validates it as OpenAPI 3.
func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(filepath.Join("..", "docs", "openapi.yaml"))
	if err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("docs/openapi.yaml is not valid OpenAPI: %v", err)
	}
	return doc
}

// TestOpenAPIValid validates the spec (issue 10, item 21: unquoted commas
// in inline descriptions made bogus properties).
func TestOpenAPIValid(t *testing.T) {
	loadSpec(t)
}

// decodeNDJSON is a body decoder for application/x-ndjson, whose schema
// describes one line: it checks every line against it and returns the last.
func decodeNDJSON(body io.Reader, _ http.Header, schema *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	dec := json.NewDecoder(body)
	var last any
	for lines := 1; ; lines++ {
		var v any
		if err := dec.Decode(&v); errors.Is(err, io.EOF) {
			if lines == 1 {
				return nil, errors.New("empty stream")
			}
			return last, nil
		} else if err != nil {
			return nil, fmt.Errorf("line %d: %w", lines, err)
		}
		if err := schema.Value.VisitJSON(v); err != nil {
			return nil, fmt.Errorf("line %d: %w", lines, err)
		}
		last = v
	}
}

// closeObjects makes every object schema that lists its properties refuse
// others, so that a field the API sends but the spec does not document
// fails validation.
func closeObjects(s *openapi3.Schema, seen map[*openapi3.Schema]bool) {
	if s == nil || seen[s] {
		return
	}
	seen[s] = true
	if len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
		no := false
		s.AdditionalProperties.Has = &no
	}
	for _, p := range s.Properties {
		closeObjects(p.Value, seen)
	}
	if s.Items != nil {
		closeObjects(s.Items.Value, seen)
	}
	if s.AdditionalProperties.Schema != nil {
		closeObjects(s.AdditionalProperties.Schema.Value, seen)
	}
	for _, l := range []openapi3.SchemaRefs{s.AllOf, s.OneOf, s.AnyOf} {
		for _, r := range l {
			closeObjects(r.Value, seen)
		}
	}
}

// TestOpenAPILiveResponses runs a node's API handler and checks real
// requests and responses against docs/openapi.yaml, with every documented
// object closed to undocumented fields.
func TestOpenAPILiveResponses(t *testing.T) {
	doc := loadSpec(t)
	seen := map[*openapi3.Schema]bool{}
	for _, s := range doc.Components.Schemas {
		closeObjects(s.Value, seen)
	}
	doc.Servers = nil
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", decodeNDJSON)
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}

	n := newTestNode(t)
	ctx := t.Context()
	res, err := n.Add(ctx, apitype.AddRequest{Path: writeTree(t, map[string]string{"index.html": "<p>hi</p>", "css/a.css": "p{}"}), Title: "Spec site", Tags: []string{"test"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	apiAddr, _, _ := startRun(t, n, node.RunOptions{APIAddr: "127.0.0.1:0", GatewayAddr: "none"})
	token, err := os.ReadFile(filepath.Join(n.Home(), apitype.TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{}
	t.Cleanup(hc.CloseIdleConnections)

	ref := url.QueryEscape(res.MRI)
	addBody, _ := json.Marshal(apitype.AddRequest{Path: writeTree(t, map[string]string{"a.txt": "a"}), Title: "Second"})
	const unknown = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
	for _, tt := range []struct {
		method, path, body string
		status             int
	}{
		{"GET", "/id", "", 200},
		{"GET", "/status", "", 200},
		{"GET", "/info?ref=" + ref, "", 200},
		{"GET", "/ls?ref=" + ref, "", 200},
		{"GET", "/pins", "", 200},
		{"POST", "/add", string(addBody), 200},
		{"POST", "/fetch", `{"ref":"` + res.MRI + `"}`, 200},
		{"POST", "/bookmarks", `{"name":"site","ref":"` + res.MRI + `"}`, 200},
		{"GET", "/bookmarks", "", 200},
		{"GET", "/open?ref=site", "", 200},
		{"GET", "/quota", "", 200},
		{"GET", "/config", "", 200},
		{"GET", "/config/gateway.address", "", 200},
		{"GET", "/peers", "", 200},
		{"GET", "/providers?ref=" + ref, "", 200},
		{"GET", "/channels", "", 200},
		{"GET", "/search?q=spec", "", 200},
		{"GET", "/moderation/tally?ref=" + ref, "", 200},
		{"GET", "/moderation/why?ref=" + ref, "", 200},
		{"GET", "/moderation/rules", "", 200},
		{"POST", "/overlay/firewall", `{"op":"add","rule":"allow tcp 8000"}`, 200},
		{"GET", "/overlay/firewall", "", 200},
		{"GET", "/overlay/routes", "", 200},
		{"GET", "/info?ref=" + unknown, "", 404},
		{"GET", "/ls?ref=notacid", "", 400},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, err := http.NewRequestWithContext(ctx, tt.method, "http://"+apiAddr+apitype.APIPrefix+tt.path, body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			route, params, err := router.FindRoute(req)
			if err != nil {
				t.Fatalf("not in the spec: %v", err)
			}
			in := &openapi3filter.RequestValidationInput{
				Request: req, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true},
			}
			if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
				t.Errorf("request does not match the spec: %v", err)
			}
			if tt.body != "" {
				req.Body = io.NopCloser(strings.NewReader(tt.body))
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, data)
			}
			out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: in.Options}
			out.SetBodyBytes(data)
			if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
				t.Errorf("response does not match the spec: %v\n%s", err, bytes.TrimSpace(data))
			}
		})
	}
}

// TestOpenAPIDocumentsOptionalFields checks the fields the live test may not
// see (omitted when zero) against their schemas, every one set.
func TestOpenAPIDocumentsOptionalFields(t *testing.T) {
	doc := loadSpec(t)
	seen := map[*openapi3.Schema]bool{}
	for _, s := range doc.Components.Schemas {
		closeObjects(s.Value, seen)
	}
	q := apitype.QuotaInfo{Disk: 1, DiskUsed: 1, Blocks: 1, ByReason: map[string]int64{"local": 1}, Upload: 1, Uploaded: 1,
		Downloaded: 1, Download: 1, Memory: 1, Conns: 1, Replicas: 1, CPU: 1, Packages: 1, PinsCount: 1}
	st := apitype.Status{ID: apitype.IDInfo{PeerID: "12D3KooW", Address: "fd6d:7963::1", PublicKey: "AAAA"}, Version: "1", Uptime: 1,
		API: "127.0.0.1:5190", Gateway: "127.0.0.1:8190", Peers: 1, DHT: "server", Store: q, Overlay: "off", Packages: 1,
		Moderation: apitype.ModerationStats{VotesAccepted: 1, AnnotationsAccepted: 1, TalliesServed: 1, VotesServed: 1, TalliesUsed: 1,
			Decisions: 1, Messages: 1, Malformed: 1, Rejected: map[string]int64{"vote/low_pow": 1}}}
	add := apitype.AddResult{MRI: "myco://bafy", Package: "bafy", Content: "bafy", Size: 1, Files: 1,
		Links: &apitype.LinkReport{Followed: 1, Kept: 1, Dangling: 1, Examples: []string{"a -> /b (followed)"}}}
	for name, v := range map[string]any{"QuotaInfo": q, "Status": st, "AddResult": add} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var generic any
		if err := json.Unmarshal(b, &generic); err != nil {
			t.Fatal(err)
		}
		if err := doc.Components.Schemas[name].Value.VisitJSON(generic); err != nil {
			t.Errorf("%s: %v\n%s", name, err, b)
		}
	}
}
