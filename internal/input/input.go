// Package input holds the one error type for a bad configuration value, so
// every package reports bad inputs the same way: naming the input and value.
package input

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Error is a bad configuration value.
type Error struct {
	// Input is the input's name as the user writes it (steps, interval, ...).
	Input string
	// Value is the value given; empty when the input was missing.
	Value string
	// Err is the problem.
	Err error
	// Where is the place in a configuration file the value was read
	// from, as file:line:column; empty for a flag, a variable or an input.
	Where string
}

// Error formats the error as `input "name": problem (value "v")`, after
// `file:line:column: ` when the value came from a configuration file.
func (e *Error) Error() string {
	where := ""
	if e.Where != "" {
		where = e.Where + ": "
	}
	if e.Value == "" {
		return fmt.Sprintf("%sinput %q: %v", where, e.Input, e.Err)
	}
	return fmt.Sprintf("%sinput %q: %v (value %q)", where, e.Input, e.Err, e.Value)
}

// Unwrap returns the problem.
func (e *Error) Unwrap() error { return e.Err }

// Invalid returns an *Error for name with value and a formatted problem.
func Invalid(name, value, format string, args ...any) error {
	return &Error{Input: name, Value: value, Err: fmt.Errorf(format, args...)}
}

// At returns an *Error for name, read at where (file:line:column), with
// value and a formatted problem.
func At(where, name, value, format string, args ...any) error {
	return &Error{Input: name, Value: value, Err: fmt.Errorf(format, args...), Where: where}
}

// Missing returns an *Error for a required input that was not given.
func Missing(name string) error {
	return &Error{Input: name, Err: errors.New("is required")}
}

// Is reports whether err holds at least one *Error.
func Is(err error) bool {
	_, ok := errors.AsType[*Error](err)
	return ok
}

// Merge joins first with more, leaving out of more every *Error about an
// input first already has an *Error about. A value that did not parse is
// checked downstream as its zero value; the checks that then fail on it
// (an interval of 0s "must be at least 100ms") would only add noise to the
// parse error that names the real value. Problems are flattened from
// errors.Join trees; any other error is kept as it is.
func Merge(first error, more ...error) error {
	errs := Leaves(first)
	named := map[string]bool{}
	for _, e := range errs {
		if ie, ok := e.(*Error); ok {
			named[ie.Input] = true
		}
	}
	for _, err := range more {
		for _, e := range Leaves(err) {
			if ie, ok := e.(*Error); ok && named[ie.Input] {
				continue
			}
			errs = append(errs, e)
		}
	}
	return errors.Join(errs...)
}

// Locate returns err with a place for every *Error in it (an errors.Join
// tree, or one error) that has none: where(its Input), when that is not
// empty, says where a value read from a configuration file is there. An
// *Error gets the place as its Where; a wrapped one, as a prefix. err
// itself is not changed.
func Locate(err error, where func(input string) string) error {
	errs := Leaves(err)
	changed := false
	for i, e := range errs {
		ie, ok := errors.AsType[*Error](e)
		if !ok || ie.Where != "" {
			continue
		}
		w := where(ie.Input)
		switch {
		case w == "":
			continue
		case e == error(ie):
			located := *ie
			located.Where = w
			errs[i] = &located
		default:
			errs[i] = fmt.Errorf("%s: %w", w, e)
		}
		changed = true
	}
	if !changed {
		return err
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// Leaves flattens the errors.Join trees in err into their members.
func Leaves(err error) []error {
	if err == nil {
		return nil
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, Leaves(e)...)
	}
	return out
}

// Duration writes d as a person writes it, without zero trailing units:
// 24h, 1h30m, 2m, 90s (time.Duration's String gives 24h0m0s, 2m0s).
func Duration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
