package node

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/myconet/myconet/node/config"
)

// userConfig is a config file as a person keeps it: their own comments,
// blank lines, a multi-line list, a trailing comment, keys out of order.
const userConfig = `# my node, do not lose these notes
version = 1

[api]
address = "127.0.0.1:5190" # the usual

[network]
# two listeners only
listen = [
  "/ip4/127.0.0.1/tcp/4811", # tcp
  "/ip4/127.0.0.1/udp/4811/quic-v1",
]
dht = "client"

[quota]
disk = "20GB"
# end of quota
`

func TestConfigSetKeepsComments(t *testing.T) {
	tests := []struct {
		key, value string
		wantLine   string // a line of the result
	}{
		{"quota.disk", "5GB", `disk = "5GB"`},
		{"api.address", "127.0.0.1:6000", `address = "127.0.0.1:6000" # the usual`},
		{"network.listen", "/ip4/127.0.0.1/tcp/1,/ip4/127.0.0.1/tcp/2", `listen = ["/ip4/127.0.0.1/tcp/1", "/ip4/127.0.0.1/tcp/2"]`},
		{"network.dht", "server", `dht = "server"`},
		{"quota.upload", "1MB/s", `upload = "1MB/s"`},              // new key in an existing table
		{"moderation.remove_ratio", "2/3", `remove_ratio = "2/3"`}, // a table the file lacks
		{"moderation.remove_ratio", "0.75", `remove_ratio = 0.75`}, // a plain number stays one
		{"replication.replicas", "5", `replicas = 5`},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			home := t.TempDir()
			path := filepath.Join(home, config.ConfigFile)
			if err := os.WriteFile(path, []byte(userConfig), 0o600); err != nil {
				t.Fatal(err)
			}
			n, err := New(Config{Home: home, StoreNoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			if err := n.ConfigSet(context.Background(), tt.key, tt.value); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(path)
			text := string(data)
			for _, line := range strings.Split(userConfig, "\n") {
				if strings.HasPrefix(strings.TrimSpace(line), "#") && !strings.Contains(text, line) {
					t.Errorf("comment %q lost:\n%s", line, text)
				}
			}
			if !strings.Contains(text, "\n"+tt.wantLine+"\n") {
				t.Errorf("no line %q:\n%s", tt.wantLine, text)
			}
			// Only the key's own text changed.
			if tt.key == "quota.disk" && text != strings.Replace(userConfig, `disk = "20GB"`, `disk = "5GB"`, 1) {
				t.Errorf("more than the value changed:\n%s", text)
			}
			got, err := n.ConfigGet(context.Background(), tt.key)
			if err != nil || got != tt.value && !(tt.key == "network.listen") {
				t.Errorf("config get %s = %q, %v; want %q", tt.key, got, err, tt.value)
			}
		})
	}
}

func TestConfigSetRefusesInlineTable(t *testing.T) {
	home := t.TempDir()
	path := filepath.Join(home, config.ConfigFile)
	orig := "version = 1\nquota = { disk = \"20GB\" }\n"
	os.WriteFile(path, []byte(orig), 0o600)
	n, err := New(Config{Home: home, StoreNoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := n.ConfigSet(context.Background(), "quota.disk", "1GB"); err == nil || !strings.Contains(err.Error(), "inline table") {
		t.Fatalf("set in an inline table: %v", err)
	}
	if data, _ := os.ReadFile(path); string(data) != orig {
		t.Fatalf("file changed:\n%s", data)
	}
}

func TestRatioText(t *testing.T) {
	for _, tt := range []struct {
		in         string
		text, toml string
	}{
		{"2/3", "2/3", `"2/3"`},
		{"0.6666666666666666", "2/3", `"2/3"`},
		{"0.75", "0.75", "0.75"},
		{"3/4", "0.75", "0.75"},
		{"1", "1", "1.0"},
		{"0.123456789", "0.123456789", "0.123456789"},
	} {
		r, err := config.ParseRatio(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if r.String() != tt.text || r.TOMLText() != tt.toml {
			t.Errorf("%s: String %q TOMLText %q, want %q %q", tt.in, r.String(), r.TOMLText(), tt.text, tt.toml)
		}
	}
}

// FuzzSetConfigText edits arbitrary TOML text: whatever comes back either
// fails or still parses, holds the value, and keeps every comment line.
func FuzzSetConfigText(f *testing.F) {
	f.Add(userConfig, "quota.disk", `"1GB"`)
	f.Add("[quota]\ndisk = \"1GB\"", "quota.cpu", "2")
	f.Add("a.b = 1\n", "a.c", "[\"x\"]")
	f.Add("[network]\nlisten = [\n\"a\", # x\n]\n", "network.listen", "[]")
	f.Fuzz(func(t *testing.T, text, key, val string) {
		// Config keys are two bare keys: section.leaf.
		section, leaf, ok := strings.Cut(key, ".")
		if !ok || !bareKey(section) || !bareKey(leaf) {
			return
		}
		for _, v := range []string{`"v"`, "7", "[\"a\", \"b\"]", "true"} {
			if val == v {
				goto ok
			}
		}
		return
	ok:
		var before map[string]any
		if err := decodeTOML(text, &before); err != nil {
			return
		}
		out, err := config.SetConfigText([]byte(text), key, val)
		if err != nil {
			return
		}
		var after map[string]any
		if err := decodeTOML(string(out), &after); err != nil {
			t.Fatalf("edit of %q (%s = %s) gives invalid TOML %q: %v", text, key, val, out, err)
		}
		var want map[string]any
		if err := decodeTOML("v = "+val, &want); err != nil {
			t.Fatal(err)
		}
		tab, _ := after[section].(map[string]any)
		if !reflect.DeepEqual(tab[leaf], want["v"]) {
			t.Fatalf("edit of %q (%s = %s) gives %q: value %v", text, key, val, out, tab[leaf])
		}
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, "#") && !strings.Contains(string(out), line) {
				t.Fatalf("edit of %q lost comment %q: %q", text, line, out)
			}
		}
	})
}

func decodeTOML(text string, v any) error {
	_, err := toml.Decode(text, v)
	return err
}

func bareKey(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return s != ""
}
