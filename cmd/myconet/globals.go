package main

import "flag"

// addGlobalFlags lets the global flags follow the command too
// (`myconet status --home DIR --json`), as Kubo's and tailscale's do. A
// command's own flag of the same name wins (most commands have their own
// --json, defaulting to the global one). --home resolves as it is parsed.
func addGlobalFlags(c *cli, fs *flag.FlagSet) {
	globalFlags(&cli{}).VisitAll(func(f *flag.Flag) {
		if fs.Lookup(f.Name) != nil {
			return
		}
		switch f.Name {
		case "home":
			fs.Var(homeFlag{c}, f.Name, f.Usage)
		case "json":
			fs.BoolVar(&c.json, f.Name, c.json, f.Usage)
		}
	})
}

// homeFlag sets cli.home to the absolute form of its value.
type homeFlag struct{ c *cli }

func (h homeFlag) String() string {
	if h.c == nil {
		return ""
	}
	return h.c.home
}

func (h homeFlag) Set(s string) error {
	home, err := resolveHome(s)
	if err != nil {
		return err
	}
	h.c.home = home
	return nil
}
