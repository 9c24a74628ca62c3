package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/client"
)

// connect returns the API of the node in home: the running daemon's if one
// answers, otherwise the node opened in-process (no daemon), which the
// returned function closes. A home without a node is an error (ErrNoHome):
// only init and the daemon create one.
func connect(ctx context.Context, home string) (apitype.API, func(), error) {
	if err := node.CheckHome(home); err != nil {
		return nil, nil, err
	}
	cl, err := client.FromHome(ctx, home)
	if err == nil {
		return cl, func() { cl.Close() }, nil
	}
	if !errors.Is(err, apitype.ErrNoDaemon) {
		return nil, nil, err
	}
	n, err := node.New(node.Config{Home: home})
	if err != nil {
		return nil, nil, lockedErr(home, err)
	}
	return n, func() { n.Close() }, nil
}

// lockedErr explains ErrLocked: another process holds the store and no API
// answers for it.
func lockedErr(home string, err error) error {
	if errors.Is(err, apitype.ErrLocked) {
		return fmt.Errorf("%w: %s is held by another myconet process and no daemon API answers for it; another command may still be running, or a daemon starting or stopping: try again", apitype.ErrLocked, home)
	}
	return err
}

// connectDaemon opens the API of the running daemon (c.daemon), for commands
// that need the network or the daemon itself.
func (c *cli) connectDaemon(ctx context.Context) (apitype.API, func(), error) {
	if c.daemon != nil {
		return c.daemon(ctx, c.home)
	}
	return connectDaemon(ctx, c.home)
}

// connectDaemon returns the API of a running daemon, or an error matching
// node.ErrNoDaemon without opening the store.
func connectDaemon(ctx context.Context, home string) (apitype.API, func(), error) {
	if err := node.CheckHome(home); err != nil {
		return nil, nil, err
	}
	cl, err := client.FromHome(ctx, home)
	if errors.Is(err, apitype.ErrNoDaemon) {
		return nil, nil, fmt.Errorf("%w: start one with `myconet daemon`", apitype.ErrNoDaemon)
	}
	if err != nil {
		return nil, nil, err
	}
	return cl, func() { cl.Close() }, nil
}

// onNode is the run function of a command that checks its positional
// arguments against spec ("NAME MRI"), connects to the node in c.home (the
// daemon, or the store opened in-process) and runs fn with it.
func (c *cli) onNode(spec string, fn func(ctx context.Context, api apitype.API, args []string) error) runFunc {
	return c.withAPI(spec, c.connect, fn)
}

// onDaemon is onNode for commands that need the running daemon (the
// network, or the daemon's own state).
func (c *cli) onDaemon(spec string, fn func(ctx context.Context, api apitype.API, args []string) error) runFunc {
	return c.withAPI(spec, func(ctx context.Context, _ string) (apitype.API, func(), error) {
		return c.connectDaemon(ctx)
	}, fn)
}

func (c *cli) withAPI(spec string, open func(context.Context, string) (apitype.API, func(), error), fn func(context.Context, apitype.API, []string) error) runFunc {
	names := strings.Fields(spec)
	return func(ctx context.Context, args []string) error {
		if err := wantArgs(args, names...); err != nil {
			return err
		}
		api, closeAPI, err := open(ctx, c.home)
		if err != nil {
			return err
		}
		defer closeAPI()
		return fn(ctx, api, args)
	}
}
