package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/httpapi"
)

// plainAPI is an API with none of the optional capabilities; only the
// methods these routes reach are filled in.
type plainAPI struct{ apitype.API }

func (plainAPI) Status(context.Context) (apitype.Status, error) {
	return apitype.Status{}, apitype.ErrNoDaemon
}
func (plainAPI) Quota(context.Context) (apitype.QuotaInfo, error) {
	return apitype.QuotaInfo{DiskUsed: 5, Blocks: 1}, nil
}
func (plainAPI) Info(_ context.Context, ref string) (apitype.PackageInfo, error) {
	return apitype.PackageInfo{}, nil
}

// TestPlainAPIFallbacks: over an API without the optional capabilities the
// routes that need one answer as documented instead of failing: get is not
// implemented, repo verify and log need a daemon, fetch has nothing to wait
// for, and /metrics serves the handler's own registry (no build info).
func TestPlainAPIFallbacks(t *testing.T) {
	srv := httptest.NewServer(httpapi.New(plainAPI{}, "tok", nil))
	t.Cleanup(srv.Close)
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code := func(body string) apitype.Code {
		var eb apitype.ErrorBody
		json.Unmarshal([]byte(body), &eb)
		return eb.Code
	}
	p := apitype.APIPrefix
	if st, body := do("GET", p+"/get?ref=x", ""); st != http.StatusNotImplemented {
		t.Errorf("get: %d %s", st, body)
	}
	for _, r := range [][3]string{{"POST", "/repo/verify", ""}, {"GET", "/log", ""}, {"POST", "/log", `{"level":"debug"}`}} {
		if st, body := do(r[0], p+r[1], r[2]); code(body) != apitype.CodeNoDaemon {
			t.Errorf("%s %s: %d %s, want %s", r[0], r[1], st, body, apitype.CodeNoDaemon)
		}
	}
	st, body := do("POST", p+"/fetch", `{"ref":"x"}`)
	if st != 200 || !strings.Contains(body, `"result":{`) || strings.Contains(body, `"fetched":true`) {
		t.Errorf("fetch: %d %s", st, body)
	}
	do("GET", p+"/info?ref=x", "")
	st, body = do("GET", "/metrics", "")
	for _, want := range []string{"myconet_store_bytes 5\n", "myconet_daemon_up 0\n", `myconet_api_requests_total{code="200",path="GET /api/v1/info"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	for _, not := range []string{"myconet_build_info", "myconet_replication_checks_total", "myconet_store_file_bytes"} {
		if strings.Contains(body, not) {
			t.Errorf("metrics of a plain API have %s", not)
		}
	}
	if st != 200 {
		t.Errorf("metrics: %d", st)
	}
}
