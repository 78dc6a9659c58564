package config

import (
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/ramp-deploy/ramp/internal/input"
)

// Source says where a value came from.
type Source string

// The sources, in order of precedence.
const (
	FromFlag    Source = "flag"
	FromEnv     Source = "env"
	FromInput   Source = "input"
	FromFile    Source = "file"
	FromDefault Source = "default"
)

// Values holds the raw value of every option and where it came from.
type Values struct {
	vals map[string]string
	src  map[string]Source
	// where is the place in the configuration file (file:line:column) of
	// each value read from it.
	where map[string]string
	// fileErrs lists the configuration file's problems; Parse reports them.
	fileErrs []error
	// Args are the arguments left after the flags.
	Args []string
	// File says which configuration file was read, if any.
	File FileInfo
	// file is the configuration file read; below holds, for each option
	// no flag, variable or input gives, its value beneath the file (other
	// tools' variables, or the default): ForEnvironment re-resolves them.
	file  *fileConfig
	below map[string]sourced
}

// sourced is a value and its source.
type sourced struct {
	val string
	src Source
}

// Get returns the raw value of the option called name.
func (v Values) Get(name string) string { return v.vals[name] }

// Given reports whether the user gave the option (not its default).
func (v Values) Given(name string) bool { s := v.src[name]; return s != "" && s != FromDefault }

// From says where the option's value came from.
func (v Values) From(name string) Source { return v.src[name] }

// Where is the place (file:line:column) of the option's value in the
// configuration file; "" when the value came from anywhere else.
func (v Values) Where(name string) string { return v.where[name] }

// Lists are the configuration file's list sections for the environment
// selected; empty when no file was read.
func (v Values) Lists() Lists { return v.file.listsFor(v.File.Environment) }

// Locate returns err with every *input.Error about an option read from
// the configuration file placed there (file:line:column).
func (v Values) Locate(err error) error { return input.Locate(err, v.Where) }

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
// the configuration file (when cmd has GroupConfig), then defaults. It
// returns flag.ErrHelp after printing help for -h or --help. The file is
// looked for in the process's working directory; see LoadIn.
func Load(cmd Command, args []string, getenv func(string) string, help io.Writer) (Values, error) {
	return LoadIn("", cmd, args, getenv, help)
}

// LoadIn is Load with dir as the working directory: where the
// configuration file is looked for, and what a relative config path is
// relative to ("" is the process's working directory).
func LoadIn(dir string, cmd Command, args []string, getenv func(string) string, help io.Writer) (Values, error) {
	fs := flag.NewFlagSet("ramp "+cmd.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	flags := map[string]*string{}
	for _, o := range Options {
		if !slices.Contains(cmd.Groups, o.Group) {
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
	v := Values{vals: map[string]string{}, src: map[string]Source{}, where: map[string]string{}, Args: fs.Args()}
	for name, s := range flags {
		o, _ := Lookup(name)
		if val, src, ok := explicit(o, set[name], *s, getenv, action); ok {
			v.vals[name], v.src[name] = val, src
		}
	}
	if slices.Contains(cmd.Groups, GroupConfig) {
		v.File, v.file = readFile(dir, v.vals["config"])
		env, given := v.vals["environment"], v.src["environment"] != ""
		if !given { // a command without the option still selects the environment
			env, _, given = explicit(mustLookup("environment"), false, "", getenv, action)
		}
		v.File.selectEnvironment(v.file, env, given)
		if v.file != nil {
			v.fileErrs = v.file.errs
		}
	}
	v.below = map[string]sourced{}
	for name := range flags {
		if _, ok := v.src[name]; !ok {
			val, src := fallback(mustLookup(name), getenv)
			v.below[name] = sourced{val: val, src: src}
		}
	}
	v.resolve(v.File.Environment)
	return v, nil
}

// resolve sets each option no flag, variable or input gives from the
// file, with environment env's overrides, or else from below it.
func (v Values) resolve(env string) {
	for name, b := range v.below {
		if s, ok := v.file.get(name, env); ok {
			v.vals[name], v.src[name], v.where[name] = s.raw, FromFile, s.at
			continue
		}
		v.vals[name], v.src[name] = b.val, b.src
		delete(v.where, name)
	}
}

// ForEnvironment returns the values as they would be with environment env
// selected: the options no flag, variable or input gives are read again
// from the file's top level and environments.<env>. validate checks each
// of the file's environments with it.
func (v Values) ForEnvironment(env string) Values {
	w := v
	w.vals, w.src, w.where = maps.Clone(v.vals), maps.Clone(v.src), maps.Clone(v.where)
	w.File.selectEnvironment(v.file, env, true)
	w.resolve(env)
	return w
}

// explicit applies the precedence of the sources above the configuration
// file: flag, RAMP_*, INPUT_*. It reports false when none gives the option.
// An empty environment value counts as not given (Actions sets declared
// inputs to ""). An action input equal to the option's default counts as
// not given too: the runner passes every input action.yml declares with a
// default, so INPUT_STEPS=10,50,100 reaches ramp whether or not the
// workflow wrote it, and must not hide the file's steps.
func explicit(o Option, flagSet bool, flagVal string, getenv func(string) string, a *githubactions.Action) (string, Source, bool) {
	if flagSet {
		if o.Bool && flagVal == "" {
			return "true", FromFlag, true
		}
		return flagVal, FromFlag, true
	}
	if s := strings.TrimSpace(getenv(o.Env())); s != "" {
		return s, FromEnv, true
	}
	for _, name := range []string{o.Name, strings.ReplaceAll(o.Name, "-", "_")} {
		switch s := a.GetInput(name); s {
		case "":
			continue
		case o.Default:
			return "", "", false
		default:
			return s, FromInput, true
		}
	}
	return "", "", false
}

// fallback is the value of an option no ramp source gives: the option's
// fallback variables (e.g. GOOGLE_CLOUD_PROJECT), then its default.
func fallback(o Option, getenv func(string) string) (string, Source) {
	for _, name := range o.Fallback {
		if s := strings.TrimSpace(getenv(name)); s != "" {
			return s, FromEnv
		}
	}
	return o.Default, FromDefault
}

func mustLookup(name string) Option {
	o, ok := Lookup(name)
	if !ok {
		panic("config: no option " + name)
	}
	return o
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
