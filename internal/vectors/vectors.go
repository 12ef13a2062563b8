// Package vectors reads the test-vector files of the ssmrandom tests: a
// header of "key: value" lines, one a line, in the style of C2SP CCTV.
// Blank lines and lines that start with "#" are comments. What the keys
// mean is up to each test; this package only splits the lines. Only tests
// import it.
package vectors

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// maxLine is the longest line a vector file may have: a datagram of
// 64 KiB in hex, and then some.
const maxLine = 1 << 20

// Field is one "key: value" line of a vector file.
type Field struct {
	Key   string
	Value string // after the ":" and one space, if there is one
	Line  int    // its line number, from 1
}

// Pos returns "name:line", for error messages.
func (f Field) Pos(name string) string { return fmt.Sprintf("%s:%d", name, f.Line) }

// Parse returns the fields of the vector file b, in order; name says
// which file in errors. A line that is neither a comment nor "key: value"
// is an error. A key may come more than once: see [Unique].
func Parse(name string, b []byte) ([]Field, error) {
	var fields []Field
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, maxLine)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok || key == "" || strings.ContainsAny(key, " \t") {
			return nil, fmt.Errorf("%s:%d: got %.40q, want a \"key: value\" line", name, n, line)
		}
		fields = append(fields, Field{Key: key, Value: strings.TrimPrefix(value, " "), Line: n})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return fields, nil
}

// Read reads and parses the vector file at path (see [Parse]).
func Read(path string) ([]Field, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b)
}

// Unique returns fields as a map from key to value, or an error naming
// the first key given twice.
func Unique(name string, fields []Field) (map[string]string, error) {
	m := make(map[string]string, len(fields))
	for _, f := range fields {
		if _, dup := m[f.Key]; dup {
			return nil, fmt.Errorf("%s: key %q given twice", f.Pos(name), f.Key)
		}
		m[f.Key] = f.Value
	}
	return m, nil
}
