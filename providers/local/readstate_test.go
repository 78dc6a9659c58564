package local

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadStateRefusesWhatIsNotAState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, content string
		want          string // "" for valid
	}{
		{"a state", `{"service":"web","weight":20}`, ""},
		{"an empty object", `{}`, ""},
		{"null", "null", "it holds null, not a state"},
		{"null with white space", " null\n", "it holds null, not a state"},
		{"empty", "", "unexpected end of JSON input"},
		{"an array", "[]", "cannot unmarshal array"},
		{"truncated", `{"service":"we`, "unexpected end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, stateFileName)
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			st, err := readState(dir)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("readState: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("readState = %+v, want an error", st)
			}
			for _, w := range []string{tt.want, path, "mv "} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("readState error %q lacks %q", err, w)
				}
			}
		})
	}
	if st, err := readState(t.TempDir()); err != nil || st.Service != "" {
		t.Errorf("readState with no file = %+v, %v; want an empty state", st, err)
	}
}

func TestReadAgentInfoNamesTheRepair(t *testing.T) {
	t.Parallel()
	for _, content := range []string{"{", "null", "{}", `{"pid":12}`, "\x00\x01"} {
		dir := t.TempDir()
		path := filepath.Join(dir, agentFileName)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := readAgentInfo(dir)
		if err == nil || errors.Is(err, os.ErrNotExist) {
			t.Fatalf("readAgentInfo(%q) = %v, want a corrupt-file error", content, err)
		}
		for _, w := range []string{"rm " + `"` + path + `"`, filepath.Join(dir, agentLogName)} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("readAgentInfo(%q) error %q lacks %q", content, err, w)
			}
		}
	}
	_, err := readAgentInfo(t.TempDir())
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("readAgentInfo with no file = %v, want os.ErrNotExist", err)
	}
}
