package main

import (
	"encoding"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"text/tabwriter"
)

// jsonConvention is how every command's --json output is shaped; `myconet
// help` and the README say the same.
const jsonConvention = `--json prints one JSON object: lists are named inside it ({"pins": [...]}),
never bare and never null; sizes are numbers of bytes, durations numbers of
seconds (a key ending in _ms is milliseconds), times RFC 3339 strings.`

// printJSON writes v, which must be a JSON object (a struct or a map), as
// indented JSON and a newline. Nil slices and maps inside it print as [] and
// {}, so that a script reads a named list without a null check.
func printJSON(w io.Writer, v any) error {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	if k := rv.Kind(); k != reflect.Struct && k != reflect.Map {
		return fmt.Errorf("internal error: JSON output must be an object, not %s", rv.Kind())
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(nonNil(rv).Interface())
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// nonNil returns a copy of v with every nil slice and map replaced by an
// empty one (fields with omitempty stay omitted: empty is empty).
func nonNil(v reflect.Value) reflect.Value {
	if !v.IsValid() {
		return v
	}
	t := v.Type()
	if t.Implements(jsonMarshaler) || t.Implements(textMarshaler) {
		return v
	}
	switch v.Kind() {
	case reflect.Slice:
		if v.IsNil() {
			return reflect.MakeSlice(t, 0, 0)
		}
		if t.Elem().Kind() == reflect.Uint8 {
			return v // []byte is base64
		}
		out := reflect.MakeSlice(t, v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(nonNil(v.Index(i)))
		}
		return out
	case reflect.Map:
		out := reflect.MakeMapWithSize(t, v.Len())
		for it := v.MapRange(); it.Next(); {
			out.SetMapIndex(it.Key(), nonNil(it.Value()))
		}
		return out
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		p := reflect.New(t.Elem())
		p.Elem().Set(nonNil(v.Elem()))
		return p
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		out := reflect.New(t).Elem()
		out.Set(nonNil(v.Elem()))
		return out
	case reflect.Struct:
		out := reflect.New(t).Elem()
		out.Set(v)
		for i := range t.NumField() {
			if f := out.Field(i); f.CanSet() {
				f.Set(nonNil(v.Field(i)))
			}
		}
		return out
	}
	return v
}

// newTable returns a tabwriter for aligned columns; call Flush when done.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// kv is one "key: value" line of a human report.
type kv struct{ k, v string }

// printKV prints aligned "key  value" lines, skipping nothing. A row with an
// empty key continues the value of the row above.
func printKV(w io.Writer, rows []kv) error {
	tw := newTable(w)
	for _, r := range rows {
		if r.k == "" {
			fmt.Fprintf(tw, "\t%s\n", r.v)
			continue
		}
		fmt.Fprintf(tw, "%s:\t%s\n", r.k, r.v)
	}
	return tw.Flush()
}

// orDash renders an empty string as "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// emit prints v as JSON when asJSON is set, and through text otherwise. v
// must be an object; a list goes through emitList.
func emit[T any](c *cli, asJSON bool, v T, text func(io.Writer, T) error) error {
	if asJSON {
		return printJSON(c.stdout, v)
	}
	return text(c.stdout, v)
}

// emitList prints a list as the JSON object {key: [...]}, or through text.
func emitList[T any](c *cli, asJSON bool, key string, list []T, text func(io.Writer, []T) error) error {
	if asJSON {
		return printJSON(c.stdout, map[string][]T{key: list})
	}
	return text(c.stdout, list)
}

// printDone prints the JSON object v, or the human line text: the report of
// a command that did something (pin rm, bookmark rm, export).
func (c *cli) printDone(asJSON bool, v any, text string) error {
	if asJSON {
		return printJSON(c.stdout, v)
	}
	_, err := fmt.Fprintln(c.stdout, text)
	return err
}
