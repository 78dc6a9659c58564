package local

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// splitCommand splits a command line into argv without a shell. Words are
// separated by unquoted white space. Single quotes keep everything up to the
// next single quote literally. Double quotes group words, and inside them a
// backslash escapes only a double quote or a backslash. Outside quotes a
// backslash escapes white space, a quote or a backslash and is kept
// literally before anything else, so Windows paths survive unquoted.
func splitCommand(s string) ([]string, error) {
	var (
		args   []string
		cur    strings.Builder
		inWord bool
		quote  rune
	)
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				cur.WriteRune(c)
			}
		case quote == '"':
			switch {
			case c == '"':
				quote = 0
			case c == '\\' && i+1 < len(rs) && (rs[i+1] == '"' || rs[i+1] == '\\'):
				i++
				cur.WriteRune(rs[i])
			default:
				cur.WriteRune(c)
			}
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == '\\' && i+1 < len(rs) && escapable(rs[i+1]):
			i++
			cur.WriteRune(rs[i])
			inWord = true
		case unicode.IsSpace(c):
			if inWord {
				args = append(args, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("split command %q: unterminated %c quote", s, quote)
	}
	if inWord {
		args = append(args, cur.String())
	}
	if len(args) == 0 {
		return nil, errors.New("split command: the command line is empty")
	}
	return args, nil
}

// escapable reports whether a backslash outside quotes escapes c.
func escapable(c rune) bool {
	return c == '\\' || c == '\'' || c == '"' || unicode.IsSpace(c)
}
