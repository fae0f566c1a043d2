package eucalyptus

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Eucarc is the variables a Eucalyptus eucarc file sets, read without running a shell.
//
// A eucarc is a shell script of assignments ("export EC2_URL=http://…:8773/services/compute").
// The parser understands what such files contain: export, several assignments on one line,
// single and double quotes, backslash escapes, line continuations, comments, and $VAR, ${VAR}
// and ${VAR:-default} expansion of variables set earlier in the file or in the process
// environment. It runs nothing: a command substitution ($(…) or `…`) leaves its variable
// unresolved, except EUCA_KEY_DIR, which eucarc files compute as their own folder and which is
// set to that folder. Other commands (alias, echo, if) are skipped.
type Eucarc struct {
	// Path is the file read; empty when the text came from a reader.
	Path string
	// Vars are the variables the file sets, after expansion.
	Vars map[string]string
	// Unresolved names the variables whose value needed a command substitution.
	Unresolved []string
}

// LoadEucarc reads and parses the eucarc file at path.
func LoadEucarc(path string) (Eucarc, error) {
	f, err := os.Open(path)
	if err != nil {
		return Eucarc{}, fmt.Errorf("eucalyptus: cannot open eucarc: %w", err)
	}
	defer f.Close()
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return Eucarc{}, fmt.Errorf("eucalyptus: cannot resolve the folder of %s: %w", path, err)
	}
	rc, err := ParseEucarc(f, dir)
	rc.Path = path
	return rc, err
}

// ParseEucarc parses eucarc text. dir is the folder the file is in, the value of EUCA_KEY_DIR.
func ParseEucarc(r io.Reader, dir string) (Eucarc, error) {
	p := eucarcParser{rc: Eucarc{Vars: map[string]string{}}, dir: dir}
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 64*1024), 1024*1024)
	var pending strings.Builder
	lineNumber := 0
	for scanner.Scan() {
		lineNumber++
		line := scanner.Text()
		if lineNumber == 1 {
			// Some Windows editors start a UTF-8 file with a byte order mark, which would
			// otherwise hide the "export" of the first line.
			line = strings.TrimPrefix(line, "\ufeff")
		}
		// An odd number of trailing backslashes continues the line.
		trimmed := strings.TrimRight(line, "\\")
		if (len(line)-len(trimmed))%2 == 1 {
			pending.WriteString(line[:len(line)-1])
			continue
		}
		pending.WriteString(line)
		if err := p.parseLine(pending.String()); err != nil {
			return p.rc, fmt.Errorf("eucalyptus: eucarc line %d: %w", lineNumber, err)
		}
		pending.Reset()
	}
	if err := scanner.Err(); err != nil {
		return p.rc, fmt.Errorf("eucalyptus: cannot read eucarc: %w", err)
	}
	if err := p.parseLine(pending.String()); err != nil {
		return p.rc, fmt.Errorf("eucalyptus: eucarc line %d: %w", lineNumber, err)
	}
	return p.rc, nil
}

// Config returns the driver configuration the eucarc names: the endpoint from EC2_URL, the
// credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, else AWS_ACCESS_KEY and
// AWS_SECRET_KEY, else EC2_ACCESS_KEY and EC2_SECRET_KEY, the session token from
// AWS_SESSION_TOKEN, and the region from AWS_DEFAULT_REGION, else AWS_REGION.
//
// EUCALYPTUS_CERT and EC2_CERT name the certificates euca2ools use to bundle images, not TLS
// authorities, so they are not used. Set Config.CABundlePath for an endpoint with a private CA.
func (rc Eucarc) Config() (Config, error) {
	source := rc.Path
	if source == "" {
		source = "the eucarc"
	}
	var cfg Config
	cfg.Endpoint = rc.Vars["EC2_URL"]
	if cfg.Endpoint == "" {
		if rc.isUnresolved("EC2_URL") {
			return Config{}, fmt.Errorf("%w: %s computes EC2_URL with a command, which is not "+
				"run; write the URL in the file", ErrMissingEndpoint, source)
		}
		return Config{}, fmt.Errorf("%w: %s sets no EC2_URL; expected a line such as "+
			"export EC2_URL=https://ec2.example.com:8773/services/compute",
			ErrMissingEndpoint, source)
	}
	if err := validateEndpoint(cfg.Endpoint); err != nil {
		return Config{}, fmt.Errorf("EC2_URL in %s: %w", source, err)
	}
	for _, names := range [][2]string{
		{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"},
		{"AWS_ACCESS_KEY", "AWS_SECRET_KEY"},
		{"EC2_ACCESS_KEY", "EC2_SECRET_KEY"},
	} {
		id, secret := rc.Vars[names[0]], rc.Vars[names[1]]
		if id == "" && secret == "" {
			continue
		}
		if id == "" || secret == "" {
			return Config{}, fmt.Errorf("%w: %s sets only one of %s and %s; set both",
				ErrInvalidRequest, source, names[0], names[1])
		}
		cfg.AccessKeyID, cfg.SecretAccessKey = id, secret
		cfg.SessionToken = rc.Vars["AWS_SESSION_TOKEN"]
		break
	}
	cfg.Region = rc.Vars["AWS_DEFAULT_REGION"]
	if cfg.Region == "" {
		cfg.Region = rc.Vars["AWS_REGION"]
	}
	return cfg, nil
}

func (rc Eucarc) isUnresolved(name string) bool {
	for _, n := range rc.Unresolved {
		if n == name {
			return true
		}
	}
	return false
}

var shellNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

type eucarcParser struct {
	rc  Eucarc
	dir string
}

// assignment is one NAME=value word of a line.
type assignment struct {
	name       string
	value      string
	unresolved bool
}

// parseLine applies the assignments of one logical line, command by command.
func (p *eucarcParser) parseLine(line string) error {
	for strings.TrimSpace(line) != "" {
		words, rest, err := p.splitCommand(line)
		if err != nil {
			return err
		}
		p.applyCommand(words)
		line = rest
	}
	return nil
}

// applyCommand records the assignments of one simple command. A command that is not made of
// assignments only (alias, echo, if) changes nothing: assignments before a command name last
// only for that command.
func (p *eucarcParser) applyCommand(words []shellWord) {
	exported := len(words) > 0 && words[0].isLiteral("export")
	if exported {
		words = words[1:]
	}
	var assignments []assignment
	for _, w := range words {
		if exported && w.equals < 0 && shellNamePattern.MatchString(w.text) {
			// "export NAME" exports a variable set earlier; there is nothing to record.
			continue
		}
		name := ""
		if w.equals > 0 {
			name = w.text[:w.equals]
		}
		if !shellNamePattern.MatchString(name) {
			return
		}
		assignments = append(assignments, assignment{
			name: name, value: w.text[w.equals+1:], unresolved: w.unresolved,
		})
	}
	for _, a := range assignments {
		p.set(a)
	}
}

func (p *eucarcParser) set(a assignment) {
	if a.unresolved && a.name == "EUCA_KEY_DIR" && p.dir != "" {
		a.value, a.unresolved = p.dir, false
	}
	if a.unresolved {
		delete(p.rc.Vars, a.name)
		p.rc.Unresolved = append(p.rc.Unresolved, a.name)
		return
	}
	p.rc.Vars[a.name] = a.value
}

// lookup returns the value of a variable for expansion and whether it is set: set earlier in
// the file, else in the process environment, as the shell that sources the file would see it.
// EUCA_KEY_DIR defaults to the file's folder.
func (p *eucarcParser) lookup(name string) (string, bool) {
	if v, ok := p.rc.Vars[name]; ok {
		return v, true
	}
	if v, ok := os.LookupEnv(name); ok {
		return v, true
	}
	if name == "EUCA_KEY_DIR" && p.dir != "" {
		return p.dir, true
	}
	return "", false
}

// shellWord is one word of a command after quote removal and expansion.
type shellWord struct {
	text string
	// equals is the index in text of the first "=" that came before any quote, escape or
	// expansion, the mark of an assignment; -1 when there is none.
	equals int
	// plain reports that the word had no quote, escape or expansion at all.
	plain bool
	// unresolved reports that the word needed a command substitution or an expansion the
	// parser does not perform.
	unresolved bool
}

func (w shellWord) isLiteral(text string) bool { return w.plain && w.text == text }

// splitCommand reads the words of the first command of line and returns them with the text
// after the command separator (";", "&", "|").
func (p *eucarcParser) splitCommand(line string) ([]shellWord, string, error) {
	var words []shellWord
	i := 0
	for {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i >= len(line) || line[i] == '#' {
			return words, "", nil
		}
		if strings.IndexByte(";&|", line[i]) >= 0 {
			return words, line[i+1:], nil
		}
		w, next, err := p.readWord(line, i)
		if err != nil {
			return nil, "", err
		}
		words = append(words, w)
		i = next
	}
}

// readWord reads the word that starts at line[start] and returns it with the index after it.
func (p *eucarcParser) readWord(line string, start int) (shellWord, int, error) {
	var b strings.Builder
	w := shellWord{equals: -1, plain: true}
	i := start
	for i < len(line) {
		c := line[i]
		switch {
		case strings.IndexByte(" \t;&|", c) >= 0:
			w.text = b.String()
			return w, i, nil
		case c == '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return w, 0, fmt.Errorf("unterminated single quote at column %d", i+1)
			}
			b.WriteString(line[i+1 : i+1+end])
			i += end + 2
			w.plain = false
		case c == '"':
			next, err := p.readDoubleQuoted(line, i+1, &b, &w)
			if err != nil {
				return w, 0, err
			}
			i = next
			w.plain = false
		case c == '\\':
			if i+1 < len(line) {
				b.WriteByte(line[i+1])
			}
			i += 2
			w.plain = false
		case c == '$' || c == '`':
			i = p.expand(line, i, &b, &w)
			w.plain = false
		case c == '=' && w.equals < 0 && w.plain:
			w.equals = b.Len()
			b.WriteByte(c)
			i++
		default:
			b.WriteByte(c)
			i++
		}
	}
	w.text = b.String()
	return w, i, nil
}

// readDoubleQuoted reads a double-quoted string whose text starts at line[i] into b, and
// returns the index after the closing quote.
func (p *eucarcParser) readDoubleQuoted(line string, i int, b *strings.Builder,
	w *shellWord) (int, error) {
	open := i - 1
	for i < len(line) {
		c := line[i]
		switch {
		case c == '"':
			return i + 1, nil
		case c == '\\' && i+1 < len(line) && strings.IndexByte("$`\"\\", line[i+1]) >= 0:
			b.WriteByte(line[i+1])
			i += 2
		case c == '$' || c == '`':
			i = p.expand(line, i, b, w)
		default:
			b.WriteByte(c)
			i++
		}
	}
	return 0, fmt.Errorf("unterminated double quote at column %d", open+1)
}

// expand writes the value of the expansion at line[i] ("$NAME", "${NAME}", "${NAME:-word}",
// "$(...)" or a backquoted command) to b and returns the index after it. A command
// substitution or any other form marks w unresolved and writes nothing.
func (p *eucarcParser) expand(line string, i int, b *strings.Builder, w *shellWord) int {
	if line[i] == '`' {
		end := strings.IndexByte(line[i+1:], '`')
		w.unresolved = true
		if end < 0 {
			return len(line)
		}
		return i + end + 2
	}
	if i+1 >= len(line) {
		b.WriteByte('$')
		return i + 1
	}
	switch next := line[i+1]; {
	case next == '(':
		w.unresolved = true
		return matchingParen(line, i+1)
	case next == '{':
		end := strings.IndexByte(line[i+2:], '}')
		if end < 0 {
			w.unresolved = true
			return len(line)
		}
		p.expandBraced(line[i+2:i+2+end], b, w)
		return i + end + 3
	case next == '_' || isASCIILetter(next):
		j := i + 1
		for j < len(line) && (line[j] == '_' || isASCIILetter(line[j]) ||
			(line[j] >= '0' && line[j] <= '9')) {
			j++
		}
		value, _ := p.lookup(line[i+1 : j])
		b.WriteString(value)
		return j
	case strings.IndexByte("0123456789@*#?$!-", next) >= 0:
		// Positional and special parameters depend on how the file is sourced.
		w.unresolved = true
		return i + 2
	default:
		b.WriteByte('$')
		return i + 1
	}
}

// expandBraced expands the inside of "${...}": NAME, NAME:-word or NAME-word.
func (p *eucarcParser) expandBraced(inside string, b *strings.Builder, w *shellWord) {
	end := 0
	for end < len(inside) && (inside[end] == '_' || isASCIILetter(inside[end]) ||
		(end > 0 && inside[end] >= '0' && inside[end] <= '9')) {
		end++
	}
	name, operator := inside[:end], inside[end:]
	if name == "" {
		w.unresolved = true
		return
	}
	value, set := p.lookup(name)
	switch {
	case operator == "":
		b.WriteString(value)
	case strings.HasPrefix(operator, ":-") || strings.HasPrefix(operator, "-"):
		fallback := strings.TrimPrefix(strings.TrimPrefix(operator, ":"), "-")
		useFallback := !set || (operator[0] == ':' && value == "")
		if !useFallback {
			b.WriteString(value)
			return
		}
		word, _, err := p.readWord(fallback, 0)
		if err != nil {
			w.unresolved = true
			return
		}
		w.unresolved = w.unresolved || word.unresolved
		b.WriteString(word.text)
	default:
		w.unresolved = true
	}
}

// matchingParen returns the index after the ")" that closes the "(" at line[open], or the
// length of line when it is not closed.
func matchingParen(line string, open int) int {
	depth := 0
	for i := open; i < len(line); i++ {
		switch line[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return len(line)
}

func isASCIILetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
