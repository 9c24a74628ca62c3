package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
)

func configCmd() *command {
	keys := "Keys: " + strings.Join(config.ConfigKeys(), ", ") + "."
	return &command{
		name:    "config",
		summary: "read and change the node's config file",
		subs: []*command{
			{
				name:    "get",
				args:    "KEY",
				summary: "print one key's value",
				detail:  keys,
				setup: func(c *cli, fs *flag.FlagSet) runFunc {
					asJSON := jsonFlag(c, fs)
					return c.onNode("KEY", func(ctx context.Context, api apitype.API, args []string) error {
						v, err := api.ConfigGet(ctx, args[0])
						if err != nil {
							return err
						}
						if !*asJSON {
							_, err = fmt.Fprintln(c.stdout, v)
							return err
						}
						typed, err := config.ConfigTypedValue(args[0], v)
						if err != nil {
							return err
						}
						return printJSON(c.stdout, configValue{args[0], typed})
					})
				},
			},
			{
				name:    "set",
				args:    "KEY VALUE...",
				summary: "set one key (validated) in the file, keeping its comments, and say what changed",
				detail: keys + `
A list (network.listen, network.bootstrap, …) takes several values, or one comma-separated.
A running daemon applies most keys at once; addresses, network.* and overlay.tun* apply at
its next start, and set says so.`,
				setup: func(c *cli, fs *flag.FlagSet) runFunc {
					asJSON := jsonFlag(c, fs)
					return func(ctx context.Context, args []string) error {
						if len(args) < 2 {
							return wantArgs(args, "KEY", "VALUE")
						}
						key, values := args[0], args[1:]
						if len(values) > 1 && slices.Contains(config.ConfigKeys(), key) && !config.ConfigKeyIsList(key) {
							return usagef("%s takes one value, got %d", key, len(values))
						}
						api, closeAPI, err := c.connect(ctx, c.home)
						if err != nil {
							return err
						}
						defer closeAPI()
						return c.configSet(ctx, api, key, strings.Join(values, ","), *asJSON)
					}
				},
			},
			{
				name:    "show",
				summary: "print the config file",
				detail:  "--json prints every key with its value as the file sets it: {\"config\": {\"api.address\": …}}.",
				setup: func(c *cli, fs *flag.FlagSet) runFunc {
					asJSON := jsonFlag(c, fs)
					return c.onNode("", func(ctx context.Context, api apitype.API, args []string) error {
						text, err := api.ConfigShow(ctx)
						if err != nil {
							return err
						}
						if *asJSON {
							cfg, err := config.ParseConfigText(text)
							if err != nil {
								return err
							}
							return printJSON(c.stdout, map[string]map[string]any{"config": cfg.Values()})
						}
						_, err = fmt.Fprint(c.stdout, strings.TrimRight(text, "\n")+"\n")
						return err
					})
				},
			},
		},
	}
}

// configValue is what `config get --json` prints: the value typed as the
// config file types it (a number, a boolean, a list, a string).
type configValue struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

// configChange is what `config set` reports.
type configChange struct {
	Key     string `json:"key"`
	Old     string `json:"old"`
	New     string `json:"new"`
	Applies string `json:"applies"` // now | next start
}

// configSet sets key and reports the change, and when it takes effect.
func (c *cli) configSet(ctx context.Context, api apitype.API, key, value string, asJSON bool) error {
	old := fileValue(ctx, api, key)
	if err := api.ConfigSet(ctx, key, value); err != nil {
		return err
	}
	ch := configChange{Key: key, Old: old, New: fileValue(ctx, api, key), Applies: "next start"}
	_, err := api.Status(ctx)
	daemon := err == nil
	if daemon && !config.ConfigKeyAppliesAtStart(key) {
		ch.Applies = "now"
	}
	return emit(c, asJSON, ch, func(w io.Writer, ch configChange) error {
		line := fmt.Sprintf("%s: %s → %s", ch.Key, shownValue(ch.Old), shownValue(ch.New))
		if ch.Old == ch.New {
			line = fmt.Sprintf("%s: unchanged (%s)", ch.Key, shownValue(ch.New))
		}
		switch {
		case daemon && ch.Applies == "now":
			line += " (applied to the running daemon)"
		case daemon:
			line += " (applies at next start: restart the daemon)"
		case config.ConfigKeyAppliesAtStart(key):
			line += " (applies at next start)"
		}
		_, err := fmt.Fprintln(w, line)
		return err
	})
}

// fileValue is key's value in the config file (not this run's flags), or
// "" when it cannot be read.
func fileValue(ctx context.Context, api apitype.API, key string) string {
	text, err := api.ConfigShow(ctx)
	if err != nil {
		return ""
	}
	cfg, err := config.ParseConfigText(text)
	if err != nil {
		return ""
	}
	v, _ := cfg.GetKey(key)
	return v
}

func shownValue(v string) string {
	if v == "" {
		return `""`
	}
	return v
}
