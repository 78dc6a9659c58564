package cloudrun

import (
	"crypto/rand"
	"errors"
	"regexp"
	"strings"

	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

// The limits Cloud Run puts on names.
const (
	// maxRevisionName is the longest revision name Cloud Run accepts.
	maxRevisionName = 63
	// maxTagAndService is the longest a traffic tag and the service name
	// may be together: "Combined traffic tag and service name cannot
	// exceed 46 characters" (the tag URL's first DNS label holds both).
	maxTagAndService = 46
	// maxService is the longest service name ramp takes: its longest tag,
	// "candidate", must fit beside it.
	maxService = maxTagAndService - len(tagCandidate)
)

// serviceID is what Cloud Run accepts as a service name (at most 49
// characters; ramp's tags lower that to maxService).
var serviceID = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,47}[a-z0-9])?$`)

// validate reports every missing or malformed location input at once.
func validate(cfg providers.Config) error {
	var errs []error
	for _, in := range []struct{ name, value string }{
		{"project", cfg.Project}, {"region", cfg.Region}, {"service", cfg.Service},
	} {
		switch {
		case in.value == "" && in.name == "project":
			errs = append(errs, input.Invalid("project", "", "is required (or set GOOGLE_CLOUD_PROJECT or CLOUDSDK_CORE_PROJECT)"))
		case in.value == "":
			errs = append(errs, input.Missing(in.name))
		case strings.ContainsAny(in.value, "/ \t\n"):
			errs = append(errs, input.Invalid(in.name, in.value, "must not contain slashes or spaces"))
		}
	}
	return errors.Join(append(errs, serviceNameError(cfg.Service))...)
}

// serviceNameError explains why Cloud Run, or ramp's traffic tags, rule
// out service as a service name; nil when it is fine or reported already
// (empty, or holding slashes or spaces).
func serviceNameError(service string) error {
	switch {
	case service == "" || strings.ContainsAny(service, "/ \t\n"):
		return nil
	case !serviceID.MatchString(service):
		return input.Invalid("service", service,
			"must be lowercase letters, digits and hyphens, start with a letter and be at most 49 characters")
	case len(service) > maxService:
		return input.Invalid("service", service,
			"is %d characters; ramp takes at most %d: Cloud Run refuses a traffic tag and service name longer than %d characters together, and ramp tags revisions %q, %q and %q",
			len(service), maxService, maxTagAndService, tagCandidate, tagStable, tagPrevious)
	}
	return nil
}

// CheckArtifact checks, without calling anything, that the revision name
// a asks for is one Cloud Run takes for cfg.Service (see revisionName), so
// a name too long is refused before anything is written, and a's service
// settings against Cloud Run's rules. Every problem is an *input.Error
// naming the input, all of them at once.
func CheckArtifact(cfg providers.Config, a providers.Artifact) error {
	errs := []error{checkSettings(a)}
	if a.Revision != "" && serviceNameError(cfg.Service) == nil && serviceID.MatchString(cfg.Service) {
		_, err := revisionName(cfg.Service, a.Revision) // a generated name fits; a bad service is reported by New
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// revisionName turns want (derived from the commit SHA, or the revision
// input) into a name Cloud Run accepts: upper case is lowered, every run of
// other characters becomes one hyphen, and the service name and a hyphen
// are put in front unless want starts with them. A result longer than 63
// characters is an input error (cutting it could make two names one); so
// is a want with no letters or digits (both *input.Error). An empty want
// gets a random suffix.
func revisionName(service, want string) (string, error) {
	if want == "" {
		want = strings.ToLower(rand.Text()[:8])
	}
	var b strings.Builder
	for _, r := range strings.ToLower(want) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case !strings.HasSuffix(b.String(), "-") && b.Len() > 0:
			b.WriteByte('-')
		}
	}
	name := strings.TrimRight(b.String(), "-")
	if name == "" {
		return "", input.Invalid("revision", want, "has no letters or digits")
	}
	if !strings.HasPrefix(name, service+"-") {
		name = service + "-" + name
	}
	if len(name) > maxRevisionName {
		return "", input.Invalid("revision", want,
			"makes the revision name %q of %d characters (service %q, a hyphen and the revision); Cloud Run takes at most %d, so at most %d for the revision",
			name, len(name), service, maxRevisionName, maxRevisionName-len(service)-1)
	}
	return name, nil
}
