package providers

import "errors"

// Sentinel errors that adapters wrap, so the engine and the CLI can tell a
// retryable hiccup from a problem a retry will not fix.
var (
	// ErrNotFound means the service or revision does not exist.
	ErrNotFound = errors.New("not found")
	// ErrPermission means the credentials may not do what was asked.
	ErrPermission = errors.New("permission denied")
	// ErrInvalid means the platform rejected the request as malformed.
	ErrInvalid = errors.New("invalid request")
	// ErrConflict means someone else changed the service concurrently.
	ErrConflict = errors.New("concurrent change")
	// ErrNotReady means a revision did not become ready.
	ErrNotReady = errors.New("revision not ready")
	// ErrNoCandidate means there is no rollout in flight to act on.
	ErrNoCandidate = errors.New("no candidate revision")
	// ErrStale means the rollout record changed since the writer read it
	// (another process paused, promoted or rolled it back).
	ErrStale = errors.New("the rollout record changed since it was read")
)

// Permanent reports whether retrying the call that returned err cannot help.
func Permanent(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrPermission) ||
		errors.Is(err, ErrInvalid) || errors.Is(err, ErrNotReady) ||
		errors.Is(err, ErrNoCandidate) || errors.Is(err, ErrStale)
}
