package access

import "strings"

// pattern is a runbook name pattern of the permissions JSON, compiled once
// when the document is parsed. A '*' stands for any run of characters,
// including none; everything else is literal and compared
// case-insensitively. Splitting at the stars ahead of time means a match is
// a prefix test, a suffix test and a left-to-right search for the pieces in
// between, with no backtracking and no allocation.
type pattern struct {
	text   string   // as written, for reasons
	exact  bool     // no star at all: the whole name must equal prefix
	prefix string   // lower-cased literal before the first star
	suffix string   // lower-cased literal after the last star
	middle []string // lower-cased literals between stars, empty ones dropped
}

// compilePattern splits text at its stars.
func compilePattern(text string) pattern {
	p := pattern{text: text}
	lower := strings.ToLower(text)
	parts := strings.Split(lower, "*")
	if len(parts) == 1 {
		p.exact, p.prefix = true, lower
		return p
	}
	p.prefix, p.suffix = parts[0], parts[len(parts)-1]
	for _, m := range parts[1 : len(parts)-1] {
		if m != "" {
			p.middle = append(p.middle, m)
		}
	}
	return p
}

// match reports whether the lower-cased name matches. Taking the leftmost
// occurrence of every middle piece is always safe: it leaves the most room
// for the pieces after it.
func (p *pattern) match(name string) bool {
	if p.exact {
		return name == p.prefix
	}
	if len(name) < len(p.prefix)+len(p.suffix) ||
		!strings.HasPrefix(name, p.prefix) || !strings.HasSuffix(name, p.suffix) {
		return false
	}
	rest := name[len(p.prefix) : len(name)-len(p.suffix)]
	for _, m := range p.middle {
		i := strings.Index(rest, m)
		if i < 0 {
			return false
		}
		rest = rest[i+len(m):]
	}
	return true
}

// patternList is one list of patterns from the document. A nil list is an
// absent key, which callers treat differently from an empty one.
type patternList []pattern

// first returns the first pattern matching the lower-cased name, or nil.
func (l patternList) first(name string) *pattern {
	for i := range l {
		if l[i].match(name) {
			return &l[i]
		}
	}
	return nil
}

// compilePatterns compiles a list of pattern texts; nil stays nil.
func compilePatterns(texts []string) patternList {
	if texts == nil {
		return nil
	}
	l := make(patternList, len(texts))
	for i, t := range texts {
		l[i] = compilePattern(t)
	}
	return l
}

// MatchPattern reports whether a runbook name matches a permissions
// pattern: '*' stands for any run of characters, letters compare
// case-insensitively. It compiles the pattern on every call; Permissions
// compiles its patterns once at parse time.
func MatchPattern(pat, name string) bool {
	p := compilePattern(pat)
	return p.match(strings.ToLower(name))
}
