package config

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// Editing the config file in place.
//
// `config set` changes one value in the text of config.toml and leaves every
// other byte as it was: the comments a user wrote, blank lines, key order,
// quoting. go-toml's unstable parser gives the byte range of every key and
// value (BurntSushi/toml, which decodes the file, keeps no positions, and
// re-encoding a decoded file drops its comments); the edit replaces the
// value's range, or adds the key to its table, and the result is decoded
// again and must equal the config the change was meant to produce, or
// nothing is written.

// restartKeys are the keys a running daemon reads only when it starts.
// Every other key applies to a running daemon at once.
var restartKeys = map[string]bool{
	"api.address": true, "gateway.address": true,
	"network.listen": true, "network.bootstrap": true, "network.mdns": true, "network.dht": true,
	"overlay.tun": true, "overlay.tun_name": true, "overlay.mtu": true,
}

// ConfigKeyAppliesAtStart reports whether a running daemon applies a change
// of key only at its next start.
func ConfigKeyAppliesAtStart(key string) bool { return restartKeys[key] }

// ConfigKeyIsList reports whether key holds a list (network.listen, …).
func ConfigKeyIsList(key string) bool {
	k, err := findKey(key)
	if err != nil {
		return false
	}
	_, ok := k.get(&FileConfig{}).([]string)
	return ok
}

// ParseConfigText decodes and validates the text of a config file (as
// ConfigShow returns it).
func ParseConfigText(text string) (FileConfig, error) {
	return parseConfig([]byte(text), ConfigFile)
}

// writeConfigKey writes want, which differs from the file at path in key
// only, by editing key's value in the file's text.
func WriteConfigKey(path, key string, want FileConfig) error {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		data, err = renderConfig(DefaultConfig()), nil
	}
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	k, err := findKey(key)
	if err != nil {
		return err
	}
	out, err := SetConfigText(data, key, tomlValue(k.get(&want)))
	if err != nil {
		return fmt.Errorf("config: %s: %w", path, err)
	}
	got, err := parseConfig(out, path)
	if err != nil {
		return fmt.Errorf("config: editing %s in %s gave a file that does not read back (nothing written): %w", key, path, err)
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("config: editing %s in %s did not give the intended config (nothing written); edit the file by hand", key, path)
	}
	return writeConfigFile(path, out)
}

// setConfigText returns data with the value of key ("section.leaf") set to
// the TOML value text val: the value replaced where the key is, else a line
// added at the end of the key's table, else the table added at the end.
func SetConfigText(data []byte, key, val string) ([]byte, error) {
	section, leaf, _ := strings.Cut(key, ".")
	var p unstable.Parser
	p.Reset(data)
	table := ""    // the current table's dotted name
	tableEnd := -1 // where a new key of section goes: after its last line
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			table = keyPath(e.Key())
			if table == section && e.Kind == unstable.Table {
				tableEnd = lineEnd(data, int(lastKeyEnd(e.Key())))
			}
		case unstable.KeyValue:
			name := keyPath(e.Key())
			if table != "" {
				name = table + "." + name
			}
			switch {
			case name == key:
				start, end := valueRange(data, e)
				if start < 0 {
					return nil, fmt.Errorf("cannot find the value of %s", key)
				}
				return splice(data, start, end, val), nil
			case strings.HasPrefix(key, name+"."):
				return nil, fmt.Errorf("%s is set as an inline table (%s = {…}); edit the file by hand", key, name)
			}
			if table == section {
				tableEnd = lineEnd(data, int(e.Raw.Offset+e.Raw.Length))
			}
		}
	}
	if err := p.Error(); err != nil {
		return nil, err
	}
	line := leaf + " = " + val + "\n"
	if tableEnd == len(data) && !bytes.HasSuffix(data, []byte("\n")) {
		line = "\n" + line
	}
	if tableEnd >= 0 {
		return splice(data, tableEnd, tableEnd, line), nil
	}
	var b bytes.Buffer
	b.Write(data)
	if len(data) > 0 && !bytes.HasSuffix(data, []byte("\n")) {
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "\n[%s]\n%s", section, line)
	return b.Bytes(), nil
}

// keyPath joins the parts of a (dotted) key.
func keyPath(it unstable.Iterator) string {
	var parts []string
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
	}
	return strings.Join(parts, ".")
}

// lastKeyEnd is the offset just past the last part of a key.
func lastKeyEnd(it unstable.Iterator) uint32 {
	var end uint32
	for it.Next() {
		r := it.Node().Raw
		end = r.Offset + r.Length
	}
	return end
}

// valueRange is the byte range of a key/value expression's value: from the
// first byte after "=" and blanks to the end of the expression.
func valueRange(data []byte, e *unstable.Node) (int, int) {
	i := int(lastKeyEnd(e.Key()))
	end := int(e.Raw.Offset + e.Raw.Length)
	for i < end && (data[i] == ' ' || data[i] == '\t') {
		i++
	}
	if i >= end || data[i] != '=' {
		return -1, -1
	}
	i++
	for i < end && (data[i] == ' ' || data[i] == '\t') {
		i++
	}
	return i, end
}

// lineEnd is the offset just past the end of the line holding offset i.
func lineEnd(data []byte, i int) int {
	if j := bytes.IndexByte(data[i:], '\n'); j >= 0 {
		return i + j + 1
	}
	return len(data)
}

func splice(data []byte, start, end int, s string) []byte {
	out := make([]byte, 0, len(data)-(end-start)+len(s))
	out = append(out, data[:start]...)
	out = append(out, s...)
	return append(out, data[end:]...)
}

// ConfigTypedValue turns the text GetKey gives for key back into the
// key's type: a number, a boolean, a list of strings or a string (for
// `config get --json`).
func ConfigTypedValue(key, text string) (any, error) {
	k, err := findKey(key)
	if err != nil {
		return nil, err
	}
	c := DefaultConfig()
	if err := k.set(&c, text); err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return k.get(&c), nil
}
