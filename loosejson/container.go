package loosejson

func (p *parser) object() (*Node, error) {
	n := &Node{Kind: Object, Off: p.pos}
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.pos++ // {
	for {
		if err := p.space(); err != nil {
			return nil, err
		}
		if p.pos >= len(p.src) {
			return nil, p.errAt(n.Off, "unterminated object: missing '}'")
		}
		if p.src[p.pos] == '}' {
			p.pos++
			p.depth--
			return n, nil
		}
		if p.src[p.pos] != '"' {
			return nil, p.errAt(p.pos, "unexpected %s: expected a quoted member name or '}'", p.describe())
		}
		keyOff := p.pos
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		if err := p.space(); err != nil {
			return nil, err
		}
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return nil, p.errAt(p.pos, "unexpected %s: expected ':' after member name %q", p.describe(), key)
		}
		p.pos++
		if err := p.space(); err != nil {
			return nil, err
		}
		if p.pos >= len(p.src) {
			return nil, p.errAt(p.pos, "unexpected end of input: expected the value of %q", key)
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		n.Members = append(n.Members, Member{Key: key, Val: v, Off: keyOff})
		if err := p.space(); err != nil {
			return nil, err
		}
		if p.pos < len(p.src) && p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.src) && p.src[p.pos] == '}' {
			continue
		}
		if p.pos >= len(p.src) {
			return nil, p.errAt(n.Off, "unterminated object: missing '}'")
		}
		return nil, p.errAt(p.pos, "unexpected %s: expected ',' or '}' after the value of %q", p.describe(), key)
	}
}

func (p *parser) array() (*Node, error) {
	n := &Node{Kind: Array, Off: p.pos}
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.pos++ // [
	for {
		if err := p.space(); err != nil {
			return nil, err
		}
		if p.pos >= len(p.src) {
			return nil, p.errAt(n.Off, "unterminated array: missing ']'")
		}
		if p.src[p.pos] == ']' {
			p.pos++
			p.depth--
			return n, nil
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		n.Elems = append(n.Elems, v)
		if err := p.space(); err != nil {
			return nil, err
		}
		if p.pos < len(p.src) && p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.src) && p.src[p.pos] == ']' {
			continue
		}
		if p.pos >= len(p.src) {
			return nil, p.errAt(n.Off, "unterminated array: missing ']'")
		}
		return nil, p.errAt(p.pos, "unexpected %s: expected ',' or ']' after an array element", p.describe())
	}
}
