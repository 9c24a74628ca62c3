package main

import (
	"flag"
	"io"
	"log/slog"
)

// logFlags are the daemon's logging flags.
type logFlags struct {
	level, format *string
	access        *bool
}

func addLogFlags(fs *flag.FlagSet) *logFlags {
	return &logFlags{
		level:  fs.String("log-level", "info", "log `LEVEL`: debug, info, warn or error (change it while running: `myconet log --level debug`)"),
		format: fs.String("log-format", "text", "log `FORMAT`: text (logfmt) or json (one object a line, for journald/Loki/jq)"),
		access: fs.Bool("access-log", false, "log every API and gateway request (also `myconet log --access on`)"),
	}
}

// logger builds the daemon's logger on w, and the level variable the API
// changes at run time.
func (f *logFlags) logger(w io.Writer) (*slog.Logger, *slog.LevelVar, error) {
	level := new(slog.LevelVar)
	var l slog.Level
	if err := l.UnmarshalText([]byte(*f.level)); err != nil {
		return nil, nil, usagef("--log-level: want debug, info, warn or error, got %q", *f.level)
	}
	level.Set(l)
	opts := &slog.HandlerOptions{Level: level}
	switch *f.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), level, nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), level, nil
	}
	return nil, nil, usagef("--log-format: want text or json, got %q", *f.format)
}
