package config

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var def = Serve{Addr: "127.0.0.1:8080", Timeout: 10 * time.Second, MaxPage: 1000, MaxDepth: 15, MaxCost: 500_000,
	MaxRows: 500_000, MaxErrors: 100, BatchWait: 2 * time.Millisecond, CacheMB: 64, PointsMax: 20_000_000, LogLevel: slog.LevelInfo,
	ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second, IdleTimeout: time.Minute,
	MaxHeaderBytes: 64 << 10, MaxBody: 1 << 20, Introspection: true, ReloadMaxDrop: 0.5}

func envOf(vars map[string]string) Env {
	return func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
}

func TestParseServe(t *testing.T) {
	// The write timeout, when not given, is the request timeout + 20s.
	with := func(change func(*Serve)) Serve { c := def; c.WriteTimeout = 30 * time.Second; change(&c); return c }
	dflt := with(func(*Serve) {})
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want Serve
		err  string // a part of the error; empty: none
	}{
		{name: "defaults", want: dflt},
		{name: "no request time limit, no write timeout", args: []string{"-timeout", "0s"}, want: with(func(c *Serve) { c.Timeout, c.WriteTimeout = 0, 0 })},
		{name: "flags", args: []string{"-addr", "127.0.0.1:0", "-timeout", "1m", "-max-page", "5", "-on-disk", "-log-level", "debug", "-data", "a", "-data", "b"},
			want: with(func(c *Serve) {
				c.Addr, c.Timeout, c.MaxPage, c.OnDisk, c.LogLevel, c.Data = "127.0.0.1:0", time.Minute, 5, true, slog.LevelDebug, []string{"a", "b"}
				c.WriteTimeout = 80 * time.Second
			})},
		{name: "environment", env: map[string]string{"CHISO_TIMEOUT": "30s", "CHISO_CACHE_MB": "0", "CHISO_ON_DISK": "true", "CHISO_DATA": "x,y", "CHISO_MEMORY_LIMIT": "4GB"},
			want: with(func(c *Serve) {
				c.Timeout, c.CacheMB, c.OnDisk, c.Data, c.MemoryLimit = 30*time.Second, 0, true, []string{"x", "y"}, "4GB"
				c.WriteTimeout = 50 * time.Second
			})},
		{name: "a flag wins over its variable", args: []string{"-timeout", "2s", "-data", "f"}, env: map[string]string{"CHISO_TIMEOUT": "30s", "CHISO_DATA": "e"},
			want: with(func(c *Serve) { c.Timeout, c.Data, c.WriteTimeout = 2*time.Second, []string{"f"}, 22*time.Second })},
		{name: "a given flag hides a bad variable", args: []string{"-timeout", "2s"}, env: map[string]string{"CHISO_TIMEOUT": "30"},
			want: with(func(c *Serve) { c.Timeout, c.WriteTimeout = 2*time.Second, 22*time.Second })},
		{name: "an empty variable is unset", env: map[string]string{"CHISO_TIMEOUT": "", "PORT": ""}, want: dflt},
		{name: "PORT", env: map[string]string{"PORT": "9090"}, want: with(func(c *Serve) { c.Addr = ":9090" })},
		{name: "CHISO_ADDR wins over PORT", env: map[string]string{"PORT": "9090", "CHISO_ADDR": ":7070"}, want: with(func(c *Serve) { c.Addr = ":7070" })},

		{name: "duration variable without a unit", env: map[string]string{"CHISO_TIMEOUT": "30"}, err: `CHISO_TIMEOUT="30" (the -timeout flag's variable): expected a duration like 10s`},
		{name: "duration flag without a unit", args: []string{"-timeout", "30"}, err: `invalid value "30" for flag -timeout: expected a duration like 10s`},
		{name: "negative duration", args: []string{"-batch-wait", "-1s"}, err: `flag -batch-wait: expected a duration of 0 or more`},
		{name: "number variable", env: map[string]string{"CHISO_MAX_ROWS": "lots"}, err: `CHISO_MAX_ROWS="lots" (the -max-rows flag's variable): expected a whole number of 0 or more`},
		{name: "number out of range", args: []string{"-max-page", "0"}, err: `flag -max-page: expected a whole number of 1 or more, got 0`},
		{name: "negative cache", env: map[string]string{"CHISO_CACHE_MB": "-1"}, err: `CHISO_CACHE_MB="-1"`},
		{name: "bool variable", env: map[string]string{"CHISO_ON_DISK": "yes"}, err: `CHISO_ON_DISK="yes" (the -on-disk flag's variable): expected true or false`},
		{name: "log level", env: map[string]string{"CHISO_LOG_LEVEL": "loud"}, err: `CHISO_LOG_LEVEL="loud" (the -log-level flag's variable): expected debug, info, warn or error`},
		{name: "address", args: []string{"-addr", "8080"}, err: `flag -addr: expected a listen address host:port`},
		{name: "PORT not a number", env: map[string]string{"PORT": "http"}, err: `PORT="http": expected a port number`},
		{name: "every bad variable is reported", env: map[string]string{"CHISO_TIMEOUT": "30", "CHISO_THREADS": "many"}, err: "CHISO_TIMEOUT=\"30\" (the -timeout flag's variable): expected a duration like 10s, 500ms or 2m\nCHISO_THREADS=\"many\""},
		{name: "GOGC not a number", env: map[string]string{"GOGC": "fast"}, err: `GOGC="fast": expected a percentage of 0 or more such as 400, or off`},
		{name: "GOGC negative", env: map[string]string{"GOGC": "-5"}, err: `GOGC="-5"`},
		{name: "GOGC off", env: map[string]string{"GOGC": "off"}, want: dflt},
		{name: "GOGC a percentage", env: map[string]string{"GOGC": "200"}, want: dflt},
		{name: "server limits", args: []string{"-read-header-timeout", "1s", "-read-timeout", "2s", "-write-timeout", "1m", "-idle-timeout", "3s", "-max-header-bytes", "8192", "-max-body", "2048", "-introspection=false", "-reload-max-drop", "0.1"},
			want: with(func(c *Serve) {
				c.ReadHeaderTimeout, c.ReadTimeout, c.WriteTimeout, c.IdleTimeout = time.Second, 2*time.Second, time.Minute, 3*time.Second
				c.MaxHeaderBytes, c.MaxBody, c.Introspection, c.ReloadMaxDrop = 8192, 2048, false, 0.1
			})},
		{name: "server limits from the environment", env: map[string]string{"CHISO_WRITE_TIMEOUT": "45s", "CHISO_INTROSPECTION": "false", "CHISO_RELOAD_MAX_DROP": "1"},
			want: with(func(c *Serve) { c.WriteTimeout, c.Introspection, c.ReloadMaxDrop = 45*time.Second, false, 1 })},
		{name: "zero read timeout", args: []string{"-read-timeout", "0s"}, err: `flag -read-timeout: expected a duration above 0`},
		{name: "write timeout within the request timeout", args: []string{"-timeout", "30s", "-write-timeout", "30s"}, err: `-write-timeout 30s must be longer than -timeout 30s`},
		{name: "tiny header limit", env: map[string]string{"CHISO_MAX_HEADER_BYTES": "100"}, err: `CHISO_MAX_HEADER_BYTES="100" (the -max-header-bytes flag's variable): expected a whole number of 4096 or more, got 100`},
		{name: "reload drop share", args: []string{"-reload-max-drop", "1.5"}, err: `flag -reload-max-drop: expected a share from 0 to 1`},
		{name: "unknown flag", args: []string{"-colour"}, err: "flag provided but not defined: -colour"},
		{name: "stray argument", args: []string{"-timeout", "1s", "extra"}, err: `unexpected argument "extra"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseServe(tc.args, envOf(tc.env), def, io.Discard)
			if tc.err != "" {
				require.Error(t, err)
				require.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestHelp: -h and --help list every command and the command's flags.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"-help"}} {
		var out bytes.Buffer
		_, err := ParseServe(args, envOf(nil), def, &out)
		require.True(t, errors.Is(err, flag.ErrHelp), "%v", err)
		for _, c := range Commands {
			require.Contains(t, out.String(), "\n  "+c.Name+" ")
		}
		require.Contains(t, out.String(), "-timeout")
		require.Contains(t, out.String(), "(default 10s)")
	}
	var out bytes.Buffer
	_, err := ParseGen([]string{"-h"}, []string{"XS", "S"}, &out)
	require.ErrorIs(t, err, flag.ErrHelp)
	require.Contains(t, out.String(), "verify")
	require.Contains(t, out.String(), "-size")
	out.Reset()
	_, err = ParseVerify([]string{"-h"}, envOf(nil), &out)
	require.ErrorIs(t, err, flag.ErrHelp)
	require.Contains(t, out.String(), "-seeds")
}

// TestHelpAll: chiso's help lists every command once, each with a line,
// then every command's flags with their variables and defaults.
func TestHelpAll(t *testing.T) {
	var out bytes.Buffer
	Help(&out, def, []string{"XS", "S"})
	text := out.String()
	require.Equal(t, 1, strings.Count(text, "\ncommands:"))
	for _, c := range Commands {
		require.Equal(t, 1, strings.Count(text, "\n  "+c.Name+" "), c.Name)
		require.Contains(t, text, c.Doc)
	}
	for _, cmd := range []string{"serve", "verify", "gen"} {
		require.Contains(t, text, "\nflags of chiso "+cmd+":\n")
	}
	for _, want := range []string{"-timeout duration", "env CHISO_TIMEOUT", "(default 10s)", "-seeds folder", "env CHISO_SEEDS", "-size size", "XS, S"} {
		require.Contains(t, text, want)
	}
	for _, args := range [][]string{{"-h"}, {"--help"}, {"-help"}} {
		require.True(t, IsHelp(args))
	}
	require.False(t, IsHelp([]string{"-h", "-addr", ":1"}))
	require.False(t, IsHelp([]string{"serve", "-h"}))
}

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		args []string
		cmd  string
		rest []string
	}{
		{nil, "serve", nil},
		{[]string{"-data", "x"}, "serve", []string{"-data", "x"}},
		{[]string{"verify", "-seeds", "s"}, "verify", []string{"-seeds", "s"}},
		{[]string{"gen"}, "gen", []string{}},
	} {
		cmd, rest := Split(tc.args)
		require.Equal(t, tc.cmd, cmd)
		require.Equal(t, tc.rest, rest)
	}
	require.Contains(t, UnknownCommand("srve").Error(), `unknown command "srve": expected one of serve, verify, gen, help`)
}

func TestParseVerify(t *testing.T) {
	c, err := ParseVerify(nil, envOf(nil), io.Discard)
	require.NoError(t, err)
	require.Equal(t, Verify{Seeds: "../shared/seeds", Sources: "../shared/sources"}, c)
	c, err = ParseVerify([]string{"-data", "d"}, envOf(map[string]string{"CHISO_SEEDS": "/s"}), io.Discard)
	require.NoError(t, err)
	require.Equal(t, Verify{Data: "d", Seeds: "/s", Sources: "../shared/sources"}, c)
}

func TestParseGen(t *testing.T) {
	sizes := []string{"XS", "S", "M", "L"}
	c, err := ParseGen([]string{"-size", "xs", "-communes", "0", "-gap-rate", "0.5", "-seed", "3"}, sizes, io.Discard)
	require.NoError(t, err)
	require.Equal(t, "XS", c.Size)
	require.Equal(t, "parquet", c.Format)
	require.Equal(t, 0, *c.Communes, "0 can be asked for")
	require.Nil(t, c.Provinces, "a flag not given leaves the size's value")
	require.Equal(t, 0.5, *c.GapRate)
	require.Equal(t, int64(3), *c.Seed)
	for args, msg := range map[string]string{
		"-size XXL":      `invalid value "XXL" for flag -size: expected XS, S, M, L`,
		"-format json":   `flag -format: expected parquet, csv`,
		"-gap-rate 2":    `flag -gap-rate: expected a share from 0 to 1`,
		"-provinces -3":  `flag -provinces: expected a whole number of 0 or more`,
		"-seed x":        `flag -seed: expected a whole number`,
		"-size XS extra": `unexpected argument "extra"`,
	} {
		_, err := ParseGen(strings.Fields(args), sizes, io.Discard)
		require.Error(t, err, args)
		require.Contains(t, err.Error(), msg, args)
	}
}
