package local

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// splitCommand splits a command line into argv without a shell. Words are
// separated by unquoted white space. Single quotes keep everything up to the
// next single quote literally. Double quotes group words, and inside them a
// backslash escapes only a double quote or a backslash. Outside quotes a
// backslash escapes white space, a quote or a backslash and is kept
// literally before anything else, so Windows paths survive unquoted. Bytes
// that are not UTF-8 are kept as they are. A NUL byte, which no program
// argument can hold, is an error; so is an unterminated quote. The errors
// do not quote s: the caller names it.
func splitCommand(s string) ([]string, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, errors.New("the command line holds a NUL byte")
	}
	var (
		args   []string
		cur    strings.Builder
		inWord bool
		quote  rune
	)
	for i := 0; i < len(s); {
		c, n := utf8.DecodeRuneInString(s[i:])
		raw := s[i : i+n] // c's bytes as given, even when they are not UTF-8
		next, nn := utf8.DecodeRuneInString(s[i+n:])
		i += n
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				cur.WriteString(raw)
			}
		case quote == '"':
			switch {
			case c == '"':
				quote = 0
			case c == '\\' && nn > 0 && (next == '"' || next == '\\'):
				cur.WriteRune(next)
				i += nn
			default:
				cur.WriteString(raw)
			}
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == '\\' && nn > 0 && escapable(next):
			cur.WriteString(s[i : i+nn])
			i += nn
			inWord = true
		case unicode.IsSpace(c):
			if inWord {
				args = append(args, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteString(raw)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if inWord {
		args = append(args, cur.String())
	}
	if len(args) == 0 {
		return nil, errors.New("the command line is empty")
	}
	return args, nil
}

// escapable reports whether a backslash outside quotes escapes c.
func escapable(c rune) bool {
	return c == '\\' || c == '\'' || c == '"' || unicode.IsSpace(c)
}
