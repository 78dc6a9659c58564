package config

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/sethvargo/go-githubactions"
)

// Source says where a value came from.
type Source string

// The sources, in order of precedence.
const (
	FromFlag    Source = "flag"
	FromEnv     Source = "env"
	FromInput   Source = "input"
	FromDefault Source = "default"
)

// Values holds the raw value of every option and where it came from.
type Values struct {
	vals map[string]string
	src  map[string]Source
	// Args are the arguments left after the flags.
	Args []string
}

// Get returns the raw value of the option called name.
func (v Values) Get(name string) string { return v.vals[name] }

// Given reports whether the user gave the option (not its default).
func (v Values) Given(name string) bool { s := v.src[name]; return s != "" && s != FromDefault }

// From says where the option's value came from.
func (v Values) From(name string) Source { return v.src[name] }

// boolish is a flag.Value that remembers the raw string.
type boolish struct {
	s      *string
	isBool bool
}

func (b boolish) String() string {
	if b.s == nil {
		return ""
	}
	return *b.s
}
func (b boolish) Set(s string) error { *b.s = s; return nil }
func (b boolish) IsBoolFlag() bool   { return b.isBool }

// Load reads the options of the given groups for command cmd from args
// (flags), then RAMP_* variables, then GitHub Action inputs (INPUT_*), then
// defaults. It returns flag.ErrHelp after printing help for -h or --help.
func Load(cmd Command, args []string, getenv func(string) string, help io.Writer) (Values, error) {
	groups := cmd.Groups
	fs := flag.NewFlagSet("ramp "+cmd.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	flags := map[string]*string{}
	for _, o := range Options {
		if !slices.Contains(groups, o.Group) {
			continue
		}
		s := new(string)
		flags[o.Name] = s
		fs.Var(boolish{s: s, isBool: o.Bool}, o.Name, o.Usage)
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			PrintHelp(help, cmd)
			return Values{}, err
		}
		return Values{}, fmt.Errorf("ramp %s: %w (see ramp %s --help)", cmd.Name, err, cmd.Name)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	action := githubactions.New(githubactions.WithGetenv(getenv), githubactions.WithWriter(io.Discard))
	v := Values{vals: map[string]string{}, src: map[string]Source{}, Args: fs.Args()}
	for name, s := range flags {
		o, _ := Lookup(name)
		v.vals[name], v.src[name] = pick(o, set[name], *s, getenv, action)
	}
	return v, nil
}

// pick applies the precedence: flag, RAMP_*, INPUT_*, the option's
// fallback variables (e.g. GOOGLE_CLOUD_PROJECT), default. An empty
// environment value counts as not given (Actions sets declared inputs to "").
// An action input equal to the option's default counts as the default too:
// the runner passes every input action.yml declares with a default, so
// INPUT_STEPS=10,50,100 reaches ramp whether or not the workflow wrote it.
func pick(o Option, flagSet bool, flagVal string, getenv func(string) string, a *githubactions.Action) (string, Source) {
	if flagSet {
		if o.Bool && flagVal == "" {
			return "true", FromFlag
		}
		return flagVal, FromFlag
	}
	if s := strings.TrimSpace(getenv(o.Env())); s != "" {
		return s, FromEnv
	}
	for _, name := range []string{o.Name, strings.ReplaceAll(o.Name, "-", "_")} {
		switch s := a.GetInput(name); s {
		case "":
			continue
		case o.Default:
			return s, FromDefault
		default:
			return s, FromInput
		}
	}
	for _, name := range o.Fallback {
		if s := strings.TrimSpace(getenv(name)); s != "" {
			return s, FromEnv
		}
	}
	return o.Default, FromDefault
}

// Command is a subcommand: its name, what it does and its option groups.
type Command struct {
	Name   string
	About  string
	Groups []Group
}

// PrintHelp documents every option of the command with its default and
// environment names.
func PrintHelp(w io.Writer, cmd Command) {
	fmt.Fprintf(w, "Usage: ramp %s [options]\n\n%s\n", cmd.Name, cmd.About)
	for _, g := range cmd.Groups {
		fmt.Fprintf(w, "\n%s options:\n", strings.ToUpper(string(g[:1]))+string(g[1:]))
		for _, o := range Options {
			if o.Group != g {
				continue
			}
			def := ""
			if o.Default != "" {
				def = fmt.Sprintf(" (default %q)", o.Default)
			}
			if o.Max > 0 {
				def += fmt.Sprintf(" (at most %s)", FormatDuration(o.Max))
			}
			envs := strings.Join(append([]string{o.Env()}, o.Fallback...), ", ")
			fmt.Fprintf(w, "  --%s\n      %s%s\n      env %s, action input %s\n", o.Name, o.Usage, def, envs, o.Name)
		}
	}
}
