package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/myconet/myconet/node/apitype"
)

// logCmd shows or changes the running daemon's log level and access log.
func logCmd() *command {
	return &command{
		name:    "log",
		args:    "[--level LEVEL] [--access on|off]",
		summary: "show or change the daemon's log level and access log, while it runs",
		setup: func(c *cli, fs *flag.FlagSet) runFunc {
			level := fs.String("level", "", "new log `LEVEL`: debug, info, warn or error")
			access := fs.String("access", "", "turn the access log `on` or off")
			asJSON := jsonFlag(c, fs)
			return c.onDaemon("", func(ctx context.Context, api apitype.API, args []string) error {
				lc, ok := api.(interface {
					LogSettings(context.Context) (apitype.LogSettings, error)
					SetLog(context.Context, apitype.LogRequest) (apitype.LogSettings, error)
				})
				if !ok {
					return fmt.Errorf("this API cannot change logs")
				}
				req := apitype.LogRequest{Level: *level}
				switch *access {
				case "":
				case "on", "true":
					on := true
					req.Access = &on
				case "off", "false":
					off := false
					req.Access = &off
				default:
					return usagef("--access: want on or off, got %q", *access)
				}
				var s apitype.LogSettings
				var err error
				if req.Level == "" && req.Access == nil {
					s, err = lc.LogSettings(ctx)
				} else {
					s, err = lc.SetLog(ctx, req)
				}
				if err != nil {
					return err
				}
				return emit(c, *asJSON, s, func(w io.Writer, s apitype.LogSettings) error {
					onOff := map[bool]string{true: "on", false: "off"}
					_, err := fmt.Fprintf(w, "level:  %s\naccess: %s\n", s.Level, onOff[s.Access])
					return err
				})
			})
		},
	}
}
