package cloudrun

import (
	"slices"
	"strings"

	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/grpc/codes"
)

// The Admin API fake's knobs (failures to inject, another writer, slow
// operations) and what it counts of the calls it got.

// FailCalls makes the next calls of method (a full gRPC method name, see
// the Method constants) fail with codes, in order.
func (f *Admin) FailCalls(method string, codes ...codes.Code) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext[method] = append(f.failNext[method], codes...)
}

// Deny makes every Admin API call from now on fail with code, as IAM
// refuses a caller without the role; codes.OK lifts it.
func (f *Admin) Deny(code codes.Code) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deny = code
}

// SetConflictCode sets how an update with a stale etag is refused
// (codes.Aborted, as the real API does, by default).
func (f *Admin) SetConflictCode(code codes.Code) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.conflictCode = code
}

// Interfere has change made to the stored service, as another writer
// would, just before the next update (not a validate_only one) is checked.
func (f *Admin) Interfere(change func(*runpb.Service)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.interfere = change
}

// SetTrafficPolls sets how many polls an operation creating no revision
// takes to be done (0: done in the response).
func (f *Admin) SetTrafficPolls(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.trafficPolls = n
}

func isAdmin(method string) bool {
	return strings.HasPrefix(method, "/google.cloud.run.v2.") || strings.HasPrefix(method, "/google.longrunning.")
}

// Full names of the gRPC methods the provider calls.
const (
	MethodGetService     = "/google.cloud.run.v2.Services/GetService"
	MethodCreateService  = "/google.cloud.run.v2.Services/CreateService"
	MethodUpdateService  = "/google.cloud.run.v2.Services/UpdateService"
	MethodGetRevision    = "/google.cloud.run.v2.Revisions/GetRevision"
	MethodGetOperation   = "/google.longrunning.Operations/GetOperation"
	MethodListTimeSeries = "/google.monitoring.v3.MetricService/ListTimeSeries"
)

// CallsOf counts the calls of the gRPC method so far.
func (f *Admin) CallsOf(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

// UpdateMasks returns the update masks of the accepted updates so far.
func (f *Admin) UpdateMasks() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.masks)
}

// Validated counts the validate_only requests that passed.
func (f *Admin) Validated() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.validated
}

// AdminCalls counts the Admin API calls so far.
func (f *Admin) AdminCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for m, c := range f.calls {
		if isAdmin(m) {
			n += c
		}
	}
	return n
}
