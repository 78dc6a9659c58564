package cloudrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/idtoken"
	"google.golang.org/api/impersonate"
	"google.golang.org/api/option"
)

// cloudPlatformScope is the scope Application Default Credentials are
// looked up with.
const cloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"

// idTokens is a source of ID tokens for one audience, and the identity
// they name.
type idTokens struct {
	src oauth2.TokenSource
	// who is the service account the tokens name; empty when unknown (the
	// metadata server's account).
	who string
	// needs says what minting them needs besides the credentials, for the
	// error when it fails.
	needs string
}

// mintFunc makes the ID token source for an audience. Tests replace
// adcIDTokens with a static source; nothing else is reached through it.
type mintFunc func(ctx context.Context, audience string) (idTokens, error)

// adcIDTokens mints ID tokens for audience with Application Default
// Credentials: a service account key signs its own; Workload Identity
// Federation through a service account and impersonated credentials ask
// IAM for the service account's (impersonation); the metadata server of
// Compute Engine, GKE or Cloud Run gives its account's. It calls nothing
// until the first token is asked for, except to sign a key's first token.
func adcIDTokens(ctx context.Context, audience string) (idTokens, error) {
	creds, err := google.FindDefaultCredentials(ctx, cloudPlatformScope)
	if err != nil {
		return idTokens{}, clientError(err)
	}
	if len(creds.JSON) == 0 { // the metadata server
		src, err := idtoken.NewTokenSource(ctx, audience)
		if err != nil {
			return idTokens{}, fmt.Errorf("ID token from the metadata server: %w", err)
		}
		return idTokens{src: src}, nil
	}
	m, err := mintingOf(creds.JSON)
	if err != nil {
		return idTokens{}, err
	}
	src, err := m.tokenSource(ctx, audience)
	if err != nil {
		return idTokens{}, fmt.Errorf("ID tokens of %s: %w", m.who, err)
	}
	return idTokens{src: src, who: m.who, needs: m.needs()}, nil
}

// minting is how ID tokens are made from a credentials file: a service
// account key signs them itself; any other file names a service account
// that base asks IAM to mint them for (generateIdToken).
type minting struct {
	// who is the service account the tokens name.
	who string
	// key is a service account key, which signs its own tokens.
	key []byte
	// base and baseType are the credentials that ask IAM for who's tokens;
	// delegates is the delegation chain between them, if any.
	base      []byte
	baseType  option.CredentialsType
	delegates []string
}

// credentialsFile is the part of a credentials file minting reads.
type credentialsFile struct {
	Type                           string          `json:"type"`
	ClientEmail                    string          `json:"client_email"`
	ServiceAccountImpersonationURL string          `json:"service_account_impersonation_url"`
	SourceCredentials              json.RawMessage `json:"source_credentials"`
	Delegates                      []string        `json:"delegates"`
}

// errDirectFederation is an external_account file without a service
// account to impersonate: a federated identity has no ID tokens of its own.
var errDirectFederation = errors.New("direct Workload Identity Federation (no service account) cannot mint ID tokens: " +
	"give google-github-actions/auth a `service_account` (the pool's principal needs roles/iam.workloadIdentityUser on it, " +
	"the account roles/run.invoker on the service), or make the service public")

// mintingOf reads a credentials file (the JSON of Application Default
// Credentials) and says how to mint ID tokens with it. It calls nothing.
func mintingOf(data []byte) (minting, error) {
	var f credentialsFile
	if err := json.Unmarshal(data, &f); err != nil {
		return minting{}, fmt.Errorf("read the credentials file: %w", err)
	}
	switch f.Type {
	case "service_account":
		if f.ClientEmail == "" {
			return minting{}, errors.New("the service account key has no client_email")
		}
		return minting{who: f.ClientEmail, key: data}, nil
	case "external_account":
		if f.ServiceAccountImpersonationURL == "" {
			return minting{}, errDirectFederation
		}
		who, err := impersonationTarget(f.ServiceAccountImpersonationURL)
		if err != nil {
			return minting{}, err
		}
		// The federated token itself asks for the account's ID token, as
		// google-github-actions/auth does for token_format: id_token.
		base, err := withoutKeys(data, "service_account_impersonation_url", "service_account_impersonation")
		if err != nil {
			return minting{}, err
		}
		return minting{who: who, base: base, baseType: option.ExternalAccount}, nil
	case "impersonated_service_account":
		return impersonatedMinting(f)
	case "authorized_user", "external_account_authorized_user":
		return minting{}, errors.New("user credentials cannot mint ID tokens for a Cloud Run service: run ramp as a " +
			"service account, or impersonate one (`gcloud auth application-default login --impersonate-service-account " +
			"SA`, which needs roles/iam.serviceAccountTokenCreator on SA; SA needs roles/run.invoker on the service)")
	case "":
		return minting{}, errors.New("the credentials file has no type")
	}
	return minting{}, fmt.Errorf("credentials of type %q cannot mint ID tokens", f.Type)
}

// impersonatedMinting is minting for an impersonated_service_account file
// (gcloud auth application-default login --impersonate-service-account):
// its source credentials ask for the target's tokens.
func impersonatedMinting(f credentialsFile) (minting, error) {
	who, err := impersonationTarget(f.ServiceAccountImpersonationURL)
	if err != nil {
		return minting{}, err
	}
	var src credentialsFile
	if err := json.Unmarshal(f.SourceCredentials, &src); err != nil {
		return minting{}, fmt.Errorf("read the source credentials of the impersonated service account: %w", err)
	}
	types := map[string]option.CredentialsType{
		"service_account": option.ServiceAccount, "authorized_user": option.AuthorizedUser, "external_account": option.ExternalAccount,
	}
	t, ok := types[src.Type]
	if !ok {
		return minting{}, fmt.Errorf("source credentials of type %q cannot impersonate %s", src.Type, who)
	}
	m := minting{who: who, base: f.SourceCredentials, baseType: t}
	for _, d := range f.Delegates {
		m.delegates = append(m.delegates, strings.TrimPrefix(d, "projects/-/serviceAccounts/"))
	}
	return m, nil
}

// impersonationPath is the path of a service_account_impersonation_url:
// /v1/projects/-/serviceAccounts/EMAIL:generateAccessToken.
var impersonationPath = regexp.MustCompile(`^/v1/projects/[^/]+/serviceAccounts/([^/:]+@[^/:]+):generateAccessToken$`)

// impersonationTarget is the service account email a
// service_account_impersonation_url names.
func impersonationTarget(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("read service_account_impersonation_url: %w", err)
	}
	m := impersonationPath.FindStringSubmatch(u.Path)
	if m == nil || u.Scheme != "https" {
		return "", fmt.Errorf("service_account_impersonation_url %q does not name a service account "+
			"(https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/EMAIL:generateAccessToken)", raw)
	}
	return m[1], nil
}

// withoutKeys is the JSON object data without keys, every other member
// kept as it is.
func withoutKeys(data []byte, keys ...string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("read the credentials file: %w", err)
	}
	for _, k := range keys {
		delete(m, k)
	}
	out, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("rewrite the credentials file: %w", err)
	}
	return out, nil
}

// needs says what asking IAM for m's tokens needs.
func (m minting) needs() string {
	switch {
	case m.key != nil:
		return ""
	case m.baseType == option.ExternalAccount:
		return "the workload identity pool's principal needs iam.serviceAccounts.getOpenIdToken on " + m.who +
			" (in roles/iam.workloadIdentityUser, which the google-github-actions/auth setup grants)"
	}
	return "the source credentials need roles/iam.serviceAccountTokenCreator on " + m.who
}

// tokenSource makes the source of m's ID tokens for audience.
func (m minting) tokenSource(ctx context.Context, audience string) (oauth2.TokenSource, error) {
	if m.key != nil {
		return idtoken.NewTokenSource(ctx, audience, option.WithAuthCredentialsJSON(option.ServiceAccount, m.key))
	}
	return impersonate.IDTokenSource(ctx, impersonate.IDTokenConfig{
		Audience: audience, TargetPrincipal: m.who, IncludeEmail: true, Delegates: m.delegates,
	}, option.WithAuthCredentialsJSON(m.baseType, m.base))
}
