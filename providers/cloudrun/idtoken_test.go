package cloudrun

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/option"
)

// wifCredentials is an external_account file as google-github-actions/auth
// writes it for Workload Identity Federation through a service account,
// reading the GitHub OIDC token from tokenFile.
func wifCredentials(tokenFile string) string {
	return `{
  "type": "external_account",
  "audience": "//iam.googleapis.com/projects/123456789/locations/global/workloadIdentityPools/github/providers/ramp",
  "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
  "token_url": "https://sts.googleapis.com/v1/token",
  "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/` + deployer + `:generateAccessToken",
  "service_account_impersonation": {"token_lifetime_seconds": 3600},
  "credential_source": {"file": ` + strconvQuote(tokenFile) + `, "format": {"type": "text"}}
}`
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestMintingOfWorkloadIdentityFederation(t *testing.T) {
	t.Parallel()
	m, err := mintingOf([]byte(wifCredentials("/tmp/gha-oidc-token")))
	if err != nil {
		t.Fatal(err)
	}
	if m.who != deployer || m.baseType != option.ExternalAccount || m.key != nil {
		t.Errorf("minting = who %q, base type %q, key %v; want %q impersonated with the federated credentials", m.who, m.baseType, m.key != nil, deployer)
	}
	var base, orig map[string]any
	if err := json.Unmarshal(m.base, &base); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(wifCredentials("/tmp/gha-oidc-token")), &orig); err != nil {
		t.Fatal(err)
	}
	delete(orig, "service_account_impersonation_url")
	delete(orig, "service_account_impersonation")
	if diff := cmp.Diff(orig, base); diff != "" {
		t.Errorf("base credentials: the file without the impersonation (-want +got):\n%s", diff)
	}
	if !strings.Contains(m.needs(), "roles/iam.workloadIdentityUser") {
		t.Errorf("needs() = %q, want the pool principal's role", m.needs())
	}
}

// TestADCIDTokensUnderFederation finds the credentials file
// google-github-actions/auth leaves in GOOGLE_APPLICATION_CREDENTIALS and
// builds the source of the service account's ID tokens from it, offline:
// nothing is called until a token is asked for.
func TestADCIDTokensUnderFederation(t *testing.T) {
	dir := t.TempDir()
	tokenFile, credsFile := filepath.Join(dir, "oidc-token"), filepath.Join(dir, "gha-creds.json")
	if err := os.WriteFile(tokenFile, []byte("header.payload.signature"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(credsFile, []byte(wifCredentials(tokenFile)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", credsFile)
	ids, err := adcIDTokens(t.Context(), serviceURL)
	if err != nil || ids.src == nil || ids.who != deployer {
		t.Errorf("adcIDTokens = %+v, %v; want the ID tokens of %s", ids, err, deployer)
	}

	direct := `{"type": "external_account", "audience": "//iam.googleapis.com/x", "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
	  "token_url": "https://sts.googleapis.com/v1/token", "credential_source": {"file": ` + strconvQuote(tokenFile) + `}}`
	if err := os.WriteFile(credsFile, []byte(direct), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := adcIDTokens(t.Context(), serviceURL); !errors.Is(err, errDirectFederation) {
		t.Errorf("adcIDTokens under direct federation: err = %v, want %v", err, errDirectFederation)
	}
}

func TestMintingOf(t *testing.T) {
	t.Parallel()
	impersonated := `{"type": "impersonated_service_account",
	  "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/` + deployer + `:generateAccessToken",
	  "delegates": ["projects/-/serviceAccounts/hop@p.iam.gserviceaccount.com"],
	  "source_credentials": {"type": "authorized_user", "client_id": "id", "client_secret": "secret", "refresh_token": "rt"}}`
	m, err := mintingOf([]byte(impersonated))
	if err != nil {
		t.Fatal(err)
	}
	if m.who != deployer || m.baseType != option.AuthorizedUser || !slices.Equal(m.delegates, []string{"hop@p.iam.gserviceaccount.com"}) ||
		!strings.Contains(string(m.base), `"refresh_token": "rt"`) {
		t.Errorf("impersonated minting = %+v", m)
	}
	key := `{"type": "service_account", "client_email": "` + deployer + `", "private_key": "-----BEGIN PRIVATE KEY-----\n"}`
	if m, err := mintingOf([]byte(key)); err != nil || m.who != deployer || string(m.key) != key || m.needs() != "" {
		t.Errorf("service account key minting = %+v, %v; want it to sign its own", m, err)
	}
}

func TestMintingOfRefuses(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		file string
		want string
		is   error
	}{
		"direct federation": {file: `{"type": "external_account", "audience": "//iam.googleapis.com/x", "credential_source": {"file": "t"}}`,
			want: "service_account", is: errDirectFederation},
		"user": {file: `{"type": "authorized_user", "refresh_token": "rt"}`, want: "--impersonate-service-account"},
		"bad impersonation URL": {file: `{"type": "external_account", "service_account_impersonation_url": "https://sts.googleapis.com/v1/token"}`,
			want: "does not name a service account"},
		"plain http impersonation URL": {file: `{"type": "external_account", "service_account_impersonation_url": "http://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/a@b:generateAccessToken"}`,
			want: "does not name a service account"},
		"key without email": {file: `{"type": "service_account"}`, want: "client_email"},
		"unknown type":      {file: `{"type": "gdch_service_account"}`, want: `"gdch_service_account"`},
		"no type":           {file: `{}`, want: "no type"},
		"not JSON":          {file: `not json`, want: "read the credentials file"},
	} {
		_, err := mintingOf([]byte(tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
			t.Errorf("%s: err = %v, want it to contain %q", name, err, tc.want)
		}
	}
}
