package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/client"
)

// connect returns the API of the node in home: the running daemon's if one
// answers, otherwise the node opened in-process (no daemon), which the
// returned function closes.
func connect(ctx context.Context, home string) (node.API, func(), error) {
	cl, err := client.FromHome(ctx, home)
	if err == nil {
		return cl, func() { cl.Close() }, nil
	}
	if !errors.Is(err, node.ErrNoDaemon) {
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
	if errors.Is(err, node.ErrLocked) {
		return fmt.Errorf("%w: %s is held by another myconet process and no daemon API answers for it; another command may still be running, or a daemon starting or stopping: try again", node.ErrLocked, home)
	}
	return err
}

// connectDaemon opens the API of the running daemon (c.daemon), for commands
// that need the network or the daemon itself.
func (c *cli) connectDaemon(ctx context.Context) (node.API, func(), error) {
	if c.daemon != nil {
		return c.daemon(ctx, c.home)
	}
	return connectDaemon(ctx, c.home)
}

// connectDaemon returns the API of a running daemon, or an error matching
// node.ErrNoDaemon without opening the store.
func connectDaemon(ctx context.Context, home string) (node.API, func(), error) {
	cl, err := client.FromHome(ctx, home)
	if errors.Is(err, node.ErrNoDaemon) {
		return nil, nil, fmt.Errorf("%w: start one with `myconet daemon`", node.ErrNoDaemon)
	}
	if err != nil {
		return nil, nil, err
	}
	return cl, func() { cl.Close() }, nil
}
