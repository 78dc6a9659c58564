package local

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplitCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "./app", want: []string{"./app"}},
		{in: "  python3  -m   http.server\t8000 ", want: []string{"python3", "-m", "http.server", "8000"}},
		{in: `'/tmp/my dir/app' --name "two words"`, want: []string{"/tmp/my dir/app", "--name", "two words"}},
		{in: `say 'it''s' "a \"quote\" and \\ and \n"`, want: []string{"say", "its", `a "quote" and \ and \n`}},
		{in: `a\ b c\"d \'e\'`, want: []string{"a b", `c"d`, "'e'"}},
		{in: `C:\Program\app.exe -x`, want: []string{`C:\Program\app.exe`, "-x"}},
		{in: `app '' ""`, want: []string{"app", "", ""}},
		{in: `app --flag="x y"z`, want: []string{"app", "--flag=x yz"}},
		{in: `app 'unterminated`, wantErr: true},
		{in: `app "unterminated`, wantErr: true},
		{in: "", wantErr: true},
		{in: "   \t", wantErr: true},
		{in: "app\x00x", wantErr: true},
		{in: "caf\xe9 '\xff\xfe' \"\xc3\" \\\xe9", want: []string{"caf\xe9", "\xff\xfe", "\xc3", "\\\xe9"}},
		{in: "d\u00e9j\u00e0 '\u00fcber all' \u3000x", want: []string{"d\u00e9j\u00e0", "\u00fcber all", "x"}},
	}
	for _, tt := range tests {
		got, err := splitCommand(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("splitCommand(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("splitCommand(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestQuoteArgRoundTrip(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"/tmp/go-build1/b001/local.test", `C:\Users\me\AppData\local.test.exe`, "/tmp/it's here/x", `/a "b"\c`} {
		got, err := splitCommand(quoteArg(s))
		if err != nil || len(got) != 1 || got[0] != s {
			t.Errorf("splitCommand(quoteArg(%q)) = %q, %v", s, got, err)
		}
	}
}
