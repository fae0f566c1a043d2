package ec2emu

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// params are the decoded parameters of an EC2 Query request. Lists arrive flattened with
// 1-based indexes: InstanceId.1, Filter.1.Name, Filter.1.Value.1, Tag.1.Key and so on.
type params url.Values

func (p params) get(name string) string { return url.Values(p).Get(name) }

func (p params) has(name string) bool {
	_, ok := p[name]
	return ok
}

// indexes returns the sorted distinct list indexes used under prefix, such as 1 and 2 for
// Filter.1.Name and Filter.2.Value.1 with prefix "Filter".
func (p params) indexes(prefix string) []int {
	seen := map[int]bool{}
	for name := range p {
		rest, ok := strings.CutPrefix(name, prefix+".")
		if !ok {
			continue
		}
		digits, _, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(digits)
		if err != nil || n < 1 {
			continue
		}
		seen[n] = true
	}
	out := make([]int, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// list returns the values of prefix.1, prefix.2, … in index order.
func (p params) list(prefix string) []string {
	var out []string
	for _, n := range p.indexes(prefix) {
		name := prefix + "." + strconv.Itoa(n)
		if p.has(name) {
			out = append(out, p.get(name))
		}
	}
	return out
}

// filter is one Filter.N entry of a Describe request.
type filter struct {
	Name   string
	Values []string
}

func (p params) filters() []filter {
	var out []filter
	for _, n := range p.indexes("Filter") {
		base := "Filter." + strconv.Itoa(n)
		out = append(out, filter{Name: p.get(base + ".Name"), Values: p.list(base + ".Value")})
	}
	return out
}

// tag is one key and value.
type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// tags returns the prefix.N.Key and prefix.N.Value pairs in index order.
func (p params) tags(prefix string) []tag {
	var out []tag
	for _, n := range p.indexes(prefix) {
		base := prefix + "." + strconv.Itoa(n)
		out = append(out, tag{Key: p.get(base + ".Key"), Value: p.get(base + ".Value")})
	}
	return out
}

// tagSpecifications returns the tags given for resourceType in TagSpecification.N.
func (p params) tagSpecifications(resourceType string) ([]tag, *apiError) {
	var out []tag
	for _, n := range p.indexes("TagSpecification") {
		base := "TagSpecification." + strconv.Itoa(n)
		rt := p.get(base + ".ResourceType")
		if rt == "" {
			return nil, missingParameter(base + ".ResourceType")
		}
		if rt == resourceType {
			out = append(out, p.tags(base+".Tag")...)
		}
	}
	return out, nil
}

// fingerprint returns the parameters other than the protocol and presigning ones, in a
// canonical form, so two requests with the same meaning compare equal.
func (p params) fingerprint() string {
	var parts []string
	for name, values := range p {
		if name == "Action" || name == "Version" || strings.HasPrefix(name, "X-Amz-") {
			continue
		}
		for _, v := range values {
			parts = append(parts, url.QueryEscape(name)+"="+url.QueryEscape(v))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, "&")
}

// matchGlob reports whether s matches pattern, in which "*" matches any run of characters and
// "?" any one character, as EC2 filter values do.
//
// NOTE: EC2 also lets a backslash escape "*" and "?" to match them literally. This matcher
// has no escapes.
func matchGlob(pattern, s string) bool {
	if !strings.ContainsAny(pattern, "*?") {
		return pattern == s
	}
	p, str := []rune(pattern), []rune(s)
	// star and match remember the last "*" seen so the scan can backtrack to it.
	pi, si, star, match := 0, 0, -1, 0
	for si < len(str) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, match = pi, si
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == str[si]):
			pi++
			si++
		case star >= 0:
			pi = star + 1
			match++
			si = match
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
