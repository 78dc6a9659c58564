package ghub

import (
	"regexp"
	"slices"
	"strings"
)

// manages reports whether a command may name service: the configured
// service, or one of Services. With neither configured, any may be named.
func (h *handler) manages(service string) bool {
	if h.opts.Service == "" && len(h.opts.Services) == 0 {
		return true
	}
	return service == h.opts.Service || slices.Contains(h.opts.Services, service)
}

// managed lists the services commands may name, for a reply.
func (h *handler) managed() string {
	var names []string
	for _, s := range append([]string{h.opts.Service}, h.opts.Services...) {
		if s != "" && !slices.Contains(names, code(s)) {
			names = append(names, code(s))
		}
	}
	return strings.Join(names, ", ")
}

// loginPattern is a GitHub login, a bot's ending in [bot].
var loginPattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,38})(?:\[bot\])?$`)

// safeLogin returns login as it is when GitHub could have issued it, else
// made safe to show by safeWord.
func safeLogin(login string) string {
	if loginPattern.MatchString(login) {
		return login
	}
	return safeWord(login)
}
