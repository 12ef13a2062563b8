package frame

// Marshal returns the canonical serialization of f, or the error of
// [Frame.Check].
func (f *Frame) Marshal() ([]byte, error) {
	if err := f.Check(); err != nil {
		return nil, err
	}
	return f.Append(make([]byte, 0, MaxLen(f.Source, len(f.Data)))), nil
}

// ParseInto is [Parse] decoding into f, reusing the capacity of f.Data.
func ParseInto(f *Frame, b []byte) error { return parseInto(f, b) }
