package config

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// envFile reads the env-file option's file: KEY=VALUE lines as a .env file
// holds them. Blank lines and lines starting with # are skipped; a line may
// start with "export "; a value may be quoted, '...' as it is or "..."
// with \n, \", \\ escapes; an unquoted value ends at " #" (a comment) and
// is trimmed. A problem names the line and the variable, never the value.
func (p *parser) envFile(provider string) []string {
	name := p.str("env-file")
	if name == "" {
		return nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		p.fail("env-file", name, "cannot be read: %w", err)
		return nil
	}
	var pairs []string
	for i, line := range strings.Split(string(data), "\n") {
		kv, err := dotenvLine(strings.TrimSuffix(line, "\r"))
		if err != nil {
			p.fail("env-file", name, "line %d: %w", i+1, err)
			continue
		}
		if kv != "" {
			pairs = append(pairs, kv)
		}
	}
	p.env("env-file", provider, pairs)
	return pairs
}

// dotenvLine reads one line of an env file as KEY=VALUE; "" for a line
// with none.
func dotenvLine(line string) (string, error) {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return "", nil
	}
	line = strings.TrimPrefix(line, "export ")
	k, v, ok := strings.Cut(line, "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return "", errors.New("is not KEY=VALUE")
	}
	v = strings.TrimSpace(v)
	switch {
	case strings.HasPrefix(v, "'"):
		end := strings.Index(v[1:], "'")
		if end < 0 {
			return "", fmt.Errorf("the value of %s has no closing quote (values are one line)", k)
		}
		v = v[1 : end+1]
	case strings.HasPrefix(v, `"`):
		s, err := strconv.QuotedPrefix(v)
		if err != nil {
			return "", fmt.Errorf("the value of %s is not a valid double-quoted string (values are one line)", k)
		}
		if v, err = strconv.Unquote(s); err != nil {
			return "", fmt.Errorf("the value of %s: %w", k, err)
		}
	default:
		if i := strings.Index(v, " #"); i >= 0 {
			v = strings.TrimSpace(v[:i])
		}
	}
	return k + "=" + v, nil
}
