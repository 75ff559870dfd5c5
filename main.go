// Command chiso serves indicator statistics over GraphQL from an embedded
// DuckDB. With no arguments it serves the embedded Lai Châu dataset on
// :8080; `chiso -h` lists the commands, and README.md describes flags,
// environment variables and subcommands.
package main

//go:generate go tool gqlgen generate

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"chiso/config"
	"chiso/synth"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chiso:", err)
		os.Exit(1)
	}
}

// run runs the command args name until it finishes or ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if config.IsHelp(args) {
		args = []string{"help"}
	}
	cmd, args := config.Split(args)
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, args, os.LookupEnv, stderr, events{})
	case "verify":
		err = verifyCmd(args, os.LookupEnv, stdout)
	case "gen":
		err = genCmd(ctx, args, stdout)
	case "help":
		config.Help(stdout, serveDefaults(), synth.SizeNames)
	default:
		err = config.UnknownCommand(cmd)
	}
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}
