package main

import (
	"regexp"
	"slices"

	"github.com/urfave/cli/v2"
)

var (
	badFlagValue = regexp.MustCompile(`^invalid value "(.*)" for flag -(\S+): (.*)$`)
	unknownFlag  = regexp.MustCompile(`^flag provided but not defined: -+(\S+)$`)
)

// flagUsageError words a flag parsing error of urfave/cli for an
// operator: the flag as users type it (--max-age, -o), and for a duration
// flag given a bare number, what it wants.
func flagUsageError(c *cli.Context, err error) error {
	hint := "see 'ssmrandom help' or 'ssmrandom COMMAND --help'"
	if c != nil && c.Command != nil && c.Command.Name != "" && (c.App == nil || c.Command.Name != c.App.Name) {
		hint = "see 'ssmrandom " + c.Command.Name + " --help'"
	}
	msg := err.Error()
	if m := badFlagValue.FindStringSubmatch(msg); m != nil {
		name := flagName(m[2])
		switch flagKind(c, m[2]) {
		case "duration":
			return usagef(name+" takes a duration with a unit, such as 30s, 5m or 1h", "bad %s %q: want a duration such as 30s", name, m[1])
		case "integer":
			return usagef(hint, "bad %s %q: want a whole number", name, m[1])
		case "number":
			return usagef(hint, "bad %s %q: want a number", name, m[1])
		}
		return usagef(hint, "bad %s %q: %s", name, m[1], m[3])
	}
	if m := unknownFlag.FindStringSubmatch(msg); m != nil {
		return usagef(hint, "unknown flag %s", flagName(m[1]))
	}
	return asUsage(err, hint)
}

// flagName returns a flag's name as users type it: -o, --max-age.
func flagName(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// flagKind says what the flag name of c's command takes: "duration",
// "integer", "number" or "" for anything else.
func flagKind(c *cli.Context, name string) string {
	if c == nil || c.Command == nil {
		return ""
	}
	for _, f := range c.Command.Flags {
		if !slices.Contains(f.Names(), name) {
			continue
		}
		switch f.(type) {
		case *cli.DurationFlag:
			return "duration"
		case *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag, *cli.Uint64Flag:
			return "integer"
		case *cli.Float64Flag:
			return "number"
		}
		return ""
	}
	return ""
}
