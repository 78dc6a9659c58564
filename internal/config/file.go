package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ramp-deploy/ramp/internal/input"
)

// FileNames are the names the configuration file is looked for under in
// the working directory when the config option is not given.
var FileNames = []string{".ramp.yaml", "ramp.yaml"}

// maxFileSize bounds the configuration file: a few kilobytes say
// everything the options can.
const maxFileSize = 1 << 20

// FileInfo says which configuration file was read, and which of its
// environments applied.
type FileInfo struct {
	// Path is the file as the config option named it, or as found; ""
	// when no file was read.
	Path string
	// Found is true when the file was found in the working directory,
	// false when the config option named it.
	Found bool
	// Environment is the environment selected (the environment option).
	Environment string
	// Environments are the names the file's environments section holds.
	Environments []string
	// Overrides are the options environments.<Environment> sets.
	Overrides []string
}

// Describe says, in one line for validate and plan, which file was read
// and which overrides applied.
func (f FileInfo) Describe() string {
	if f.Path == "" {
		return fmt.Sprintf("configuration file: none (no config option, no %s in the working directory)", strings.Join(FileNames, " or "))
	}
	how := "named by the config option"
	if f.Found {
		how = "found in the working directory"
	}
	line := fmt.Sprintf("configuration file: %s (%s)", f.Path, how)
	switch {
	case len(f.Environments) == 0:
	case !slices.Contains(f.Environments, f.Environment):
		line += fmt.Sprintf("; environment %q: no overrides (the file has %s)", f.Environment, strings.Join(f.Environments, ", "))
	case len(f.Overrides) == 0:
		line += fmt.Sprintf("; environment %q: no overrides", f.Environment)
	default:
		line += fmt.Sprintf("; environment %q overrides %s", f.Environment, strings.Join(f.Overrides, ", "))
	}
	return line
}

// selectEnvironment records the environment selected: env when given (a
// flag, RAMP_ENVIRONMENT or the action input), else the file's top-level
// environment, else the option's default.
func (f *FileInfo) selectEnvironment(c *fileConfig, env string, given bool) {
	if c == nil {
		return
	}
	switch s, ok := c.top["environment"]; {
	case given:
		f.Environment = env
	case ok:
		f.Environment = s.raw
	default:
		f.Environment = mustLookup("environment").Default
	}
	f.Environments = slices.Sorted(maps.Keys(c.envs))
	for env := range c.lists {
		if _, ok := c.envs[env]; !ok && env != "" {
			f.Environments = append(f.Environments, env)
		}
	}
	slices.Sort(f.Environments)
	f.Overrides = slices.Sorted(maps.Keys(c.envs[f.Environment]))
	for name := range c.lists[f.Environment] {
		f.Overrides = append(f.Overrides, name)
	}
	slices.Sort(f.Overrides)
}

// get is the file's value of the option called name in environment env:
// the environment's override, else the top level's. A nil file has none.
func (c *fileConfig) get(name, env string) (setting, bool) {
	if c == nil {
		return setting{}, false
	}
	if s, ok := c.envs[env][name]; ok {
		return s, true
	}
	s, ok := c.top[name]
	return s, ok
}

// readFile finds and decodes the configuration file: the one named (a
// relative name is relative to dir), else the first of FileNames in dir.
// It returns a nil file when none is named or found; a file that cannot be
// read is one whose errs say why.
func readFile(dir, named string) (FileInfo, *fileConfig) {
	info := FileInfo{Path: named}
	if named == "" {
		found, err := discover(dir)
		if err != nil || found == "" {
			return info, failed(err)
		}
		info.Path, info.Found = found, true
	}
	full := info.Path
	if dir != "" && !filepath.IsAbs(full) {
		full = filepath.Join(dir, full)
	}
	data, err := readLimited(full)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return info, failed(input.Invalid("config", named, "no such file"))
	case err != nil:
		return info, failed(input.Invalid("config", info.Path, "cannot be read: %w", err))
	}
	return info, decodeFile(info.Path, data)
}

// failed is a file that could not be read, for the reason err (nil: no
// file at all).
func failed(err error) *fileConfig {
	if err == nil {
		return nil
	}
	return &fileConfig{errs: []error{err}}
}

// discover returns the name of the configuration file in dir, "" when
// there is none. Two are an error: which one is meant?
func discover(dir string) (string, error) {
	var found []string
	for _, name := range FileNames {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			found = append(found, name)
		}
	}
	switch len(found) {
	case 0:
		return "", nil
	case 1:
		return found[0], nil
	}
	return "", input.Invalid("config", "", "both %s are in the working directory: remove one, or name one with --config",
		strings.Join(found, " and "))
}

// readLimited reads the file at path, refusing one over maxFileSize.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("it is larger than %d KiB", maxFileSize>>10)
	}
	return data, nil
}
