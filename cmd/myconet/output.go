package main

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"text/tabwriter"
)

// printJSON writes v as indented JSON and a newline.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
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

// emit prints v as JSON when asJSON is set (a nil slice as []), and through
// text otherwise.
func emit[T any](c *cli, asJSON bool, v T, text func(io.Writer, T) error) error {
	if asJSON {
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice && rv.IsNil() {
			return printJSON(c.stdout, []struct{}{})
		}
		return printJSON(c.stdout, v)
	}
	return text(c.stdout, v)
}
