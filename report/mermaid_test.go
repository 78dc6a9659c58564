package report_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// mermaidBlock is one ```mermaid block of a summary, in the rollout
// section whose candidate it should name.
type mermaidBlock struct {
	file, candidate string
	section         int
	lines           []string
}

var (
	candidateRe = regexp.MustCompile("candidate `([^`]+)`")
	initRe      = regexp.MustCompile(`^%%\{init: (\{.*\})\}%%$`)
	paletteRe   = regexp.MustCompile(`"plotColorPalette": "((?:#[0-9a-f]{6},)*#[0-9a-f]{6})"`)
	axisRe      = regexp.MustCompile(`^  [xy]-axis "[^"]+" -?[0-9.]+ --> [0-9.]+$`)
	lineRe      = regexp.MustCompile(`^  line \[(-?[0-9.]+)(, -?[0-9.]+)*\]$`)
)

// mermaidBlocks splits a summary into rollout sections ("## " headings)
// and returns their Mermaid blocks.
func mermaidBlocks(t *testing.T, file, doc string) []mermaidBlock {
	t.Helper()
	var out []mermaidBlock
	for i, sec := range strings.Split("\n"+doc, "\n## ")[1:] {
		cand := ""
		if m := candidateRe.FindStringSubmatch(sec); m != nil {
			cand = m[1]
		}
		rest := sec
		for {
			start := strings.Index(rest, "```mermaid\n")
			if start < 0 {
				break
			}
			rest = rest[start+len("```mermaid\n"):]
			end := strings.Index(rest, "```\n")
			if end < 0 {
				t.Fatalf("%s: a mermaid block is not closed", file)
			}
			out = append(out, mermaidBlock{file: file, candidate: cand, section: i,
				lines: strings.Split(strings.TrimSuffix(rest[:end], "\n"), "\n")})
			rest = rest[end:]
		}
	}
	return out
}

// TestGoldenMermaid checks the structure of every chart in the golden
// summaries: a palette and height set in the block, an xychart-beta with a
// title naming the rollout's candidate, numeric axes and lines of values,
// and at most one traffic chart per rollout.
func TestGoldenMermaid(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "*.golden"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	charts := 0
	for _, f := range files {
		doc, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		traffic := map[int]int{}
		for _, b := range mermaidBlocks(t, f, string(doc)) {
			charts++
			checkBlock(t, b)
			if len(b.lines) > 2 && strings.HasPrefix(b.lines[2], `  title "Traffic to `) {
				if traffic[b.section]++; traffic[b.section] > 1 {
					t.Errorf("%s: rollout %d has %d traffic charts", f, b.section+1, traffic[b.section])
				}
			}
		}
	}
	if charts == 0 {
		t.Fatal("no chart in any golden file")
	}
}

func checkBlock(t *testing.T, b mermaidBlock) {
	t.Helper()
	where := b.file + ": chart " + strconv.Quote(strings.Join(b.lines, "\n"))
	if len(b.lines) < 6 {
		t.Errorf("%s: too short", where)
		return
	}
	if m := initRe.FindStringSubmatch(b.lines[0]); m == nil || !paletteRe.MatchString(m[1]) || !strings.Contains(m[1], `"height": `) {
		t.Errorf("%s: the first line does not set the palette and height", where)
	}
	if b.lines[1] != "xychart-beta" {
		t.Errorf("%s: not an xychart-beta", where)
	}
	title, ok := strings.CutPrefix(b.lines[2], "  title ")
	if title, err := strconv.Unquote(title); !ok || err != nil || b.candidate == "" || !strings.Contains(title, b.candidate) {
		t.Errorf("%s: the title does not name the candidate %q", where, b.candidate)
	}
	for _, l := range b.lines[3:5] {
		if !axisRe.MatchString(l) {
			t.Errorf("%s: axis %q is not `x-axis \"label\" min --> max`", where, l)
		}
	}
	values := -1
	for _, l := range b.lines[5:] {
		if !lineRe.MatchString(l) {
			t.Errorf("%s: %q is not a line of numbers", where, l)
		}
		n := strings.Count(l, ",") + 1
		if values >= 0 && n != values {
			t.Errorf("%s: lines of %d and %d values", where, values, n)
		}
		if values = n; n < 2 {
			t.Errorf("%s: a line of %d value", where, n)
		}
	}
}
