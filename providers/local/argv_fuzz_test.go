package local

import (
	"slices"
	"strings"
	"testing"
	"unicode"
)

// FuzzSplitCommand: any image either splits into words that hold no NUL,
// and that split back into themselves once quoted and joined, or is
// refused; a line with no quote or backslash splits exactly at white space.
func FuzzSplitCommand(f *testing.F) {
	f.Add(`'/tmp/my dir/app' --name "two words" a\ b`)
	f.Fuzz(func(t *testing.T, s string) {
		words, err := splitCommand(s)
		plain := !strings.ContainsAny(s, `'"\`)
		if err != nil {
			if plain && strings.IndexByte(s, 0) < 0 && len(strings.FieldsFunc(s, unicode.IsSpace)) > 0 {
				t.Fatalf("splitCommand(%q) = %v for a plain line", s, err)
			}
			return
		}
		if len(words) == 0 {
			t.Fatalf("splitCommand(%q) = no words and no error", s)
		}
		if plain && !slices.Equal(words, strings.FieldsFunc(s, unicode.IsSpace)) {
			t.Fatalf("splitCommand(%q) = %q, want the fields", s, words)
		}
		quoted := make([]string, len(words))
		for i, w := range words {
			if strings.IndexByte(w, 0) >= 0 {
				t.Fatalf("splitCommand(%q): word %q holds a NUL", s, w)
			}
			quoted[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
		}
		again, err := splitCommand(strings.Join(quoted, " "))
		if err != nil || !slices.Equal(again, words) {
			t.Fatalf("splitCommand(%q) = %q; quoted and split again: %q, %v", s, words, again, err)
		}
	})
}
