package runbooker_test

import (
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// TestMarkdownLinks checks every relative link in the repository's
// Markdown files: the file or directory it names must exist inside the
// repository (a clone has nothing beside it), and a #fragment into a
// Markdown file must name one of its headings. Links to other sites are not
// followed. Files under testdata are test inputs, not documentation.
func TestMarkdownLinks(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	var docs []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".md") {
			docs = append(docs, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) < 2 {
		t.Fatalf("found %d Markdown files; is the test running at the repository root?", len(docs))
	}
	anchors := map[string]map[string]bool{} // by file, cached
	for _, doc := range docs {
		src, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, doc)
		for _, l := range markdownLinks(string(src)) {
			if msg := checkLink(root, doc, l, anchors); msg != "" {
				t.Errorf("%s:%d: link %q: %s", rel, l.line, l.target, msg)
			}
		}
	}
}

// checkLink returns what is wrong with a link of file doc, or "".
func checkLink(root, doc string, l mdLink, anchors map[string]map[string]bool) string {
	target := l.target
	if u, err := url.Parse(target); err == nil && u.Scheme != "" {
		return "" // another site, or mailto:
	}
	file, frag, _ := strings.Cut(target, "#")
	file, _, _ = strings.Cut(file, "?")
	if unescaped, err := url.PathUnescape(file); err == nil {
		file = unescaped
	}
	resolved := doc
	if file != "" {
		if strings.HasPrefix(file, "/") { // as on GitHub: from the repository root
			resolved = filepath.Join(root, filepath.FromSlash(file))
		} else {
			resolved = filepath.Join(filepath.Dir(doc), filepath.FromSlash(file))
		}
		if r, err := filepath.Rel(root, resolved); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			return "points outside the repository"
		}
		if _, err := os.Stat(resolved); err != nil {
			return "no such file or directory"
		}
	}
	if frag == "" || !strings.HasSuffix(resolved, ".md") {
		return ""
	}
	if anchors[resolved] == nil {
		src, err := os.ReadFile(resolved)
		if err != nil {
			return err.Error()
		}
		anchors[resolved] = headingAnchors(string(src))
	}
	if !anchors[resolved][strings.ToLower(frag)] {
		return "no heading with anchor #" + frag
	}
	return ""
}

// mdLink is a link target and the line it is on.
type mdLink struct {
	target string
	line   int
}

var (
	inlineLink = regexp.MustCompile(`!?\[[^\]]*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+"[^"]*")?\s*\)`)
	refLink    = regexp.MustCompile(`^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)`)
	codeSpan   = regexp.MustCompile("`+[^`]*`+")
)

// markdownLinks returns the inline links, images and link reference
// definitions of a Markdown text, leaving out fenced code blocks and code
// spans. (Indented code blocks are read as text: the documents here fence
// their code.)
func markdownLinks(src string) []mdLink {
	var out []mdLink
	for i, line := range proseLines(src) {
		if line == fenced {
			continue
		}
		line = codeSpan.ReplaceAllString(line, "")
		var targets []string
		for _, m := range inlineLink.FindAllStringSubmatch(line, -1) {
			targets = append(targets, m[1])
		}
		if m := refLink.FindStringSubmatch(line); m != nil {
			targets = append(targets, m[1])
		}
		for _, t := range targets {
			out = append(out, mdLink{target: strings.Trim(t, "<>"), line: i + 1})
		}
	}
	return out
}

// fenced stands, in proseLines, for a line of a fenced code block (or its
// fence): no text line holds a NUL.
const fenced = "\x00"

// proseLines returns the lines of a Markdown text, each line of a fenced
// code block replaced by fenced, so that line numbers stay true.
func proseLines(src string) []string {
	lines := strings.Split(src, "\n")
	fence := ""
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		switch {
		case fence != "":
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			lines[i] = fenced
		case strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~"):
			fence = trimmed[:3]
			lines[i] = fenced
		}
	}
	return lines
}

// headingAnchors returns the anchors GitHub gives a file's headings:
// lower case, punctuation dropped, spaces as hyphens, "-1", "-2", … for
// repeats.
func headingAnchors(src string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, line := range proseLines(src) {
		if line == fenced {
			continue
		}
		text, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " ")
		if !ok || !strings.HasPrefix(line, "#") || len(line)-len(strings.TrimLeft(line, "#")) > 6 {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(text)) {
			switch {
			case r == ' ':
				b.WriteByte('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		slug := b.String()
		if n := seen[slug]; n > 0 {
			out[slug+"-"+strconv.Itoa(n)] = true
		} else {
			out[slug] = true
		}
		seen[slug]++
	}
	return out
}

func TestMarkdownLinkParsing(t *testing.T) {
	t.Parallel()
	src := "# Title\n" +
		"See [the guide](docs/guide.md#setup \"Guide\") and ![logo](<img/a b.png>).\n" +
		"Not `[code](nolink.md)`, but [site](https://example.com).\n" +
		"```\n[fenced](nolink.md)\n```\n" +
		"[ref]: ../other.md\n"
	var got []string
	for _, l := range markdownLinks(src) {
		got = append(got, l.target)
	}
	want := []string{"docs/guide.md#setup", "img/a b.png", "https://example.com", "../other.md"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("links = %q, want %q", got, want)
	}
	anchors := headingAnchors("# 1. Package map and layers\n## Stream records: two paths, three routes\n## Notes\n## Notes\n```\n# not a heading\n```\n")
	for _, a := range []string{"1-package-map-and-layers", "stream-records-two-paths-three-routes", "notes", "notes-1"} {
		if !anchors[a] {
			t.Errorf("anchor %q missing from %v", a, anchors)
		}
	}
	if anchors["not-a-heading"] {
		t.Errorf("a line in a code block counted as a heading")
	}
}
