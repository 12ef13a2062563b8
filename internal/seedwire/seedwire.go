// Package seedwire implements the seed datagram's payload: the binary
// structure, signed as a JWS like a frame, that carries one round of
// HPKE-sealed per-host seeds (docs/protocol.md §9).
//
// A payload is a fixed 45-byte header (magic, version, HPKE suite, epoch,
// sequence number, time, round, plaintext length, entry count) followed by
// entries of equal length, each a host id in the clear and the HPKE
// encapsulated key and ciphertext for that host. [Parse] accepts exactly
// one encoding of each payload; [Header.Append] and [AppendEntry] write it.
// [IsSeed] and [Scan] look at a whole datagram, before any signature check,
// to tell a seed datagram from a frame and to skip one with no entry for a
// host. The package is pure: it does no I/O, keeps no state and holds no
// keys (package seal seals and opens entries).
package seedwire

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
)

// Magic is the first three bytes of every seed payload. Their base64url
// encoding is the text "SEED", so a seed datagram's payload part starts
// with those four characters and a frame's (`{"v"`) with "eyJ2".
const Magic = "\x48\x41\x03"

// MagicText is the base64url encoding of [Magic]: the first four
// characters of a seed datagram's payload part.
const MagicText = "SEED"

// Version is the only payload version this package writes and reads.
const Version = 1

// HeaderSize is the length of the payload header, in bytes; entries
// follow it.
const HeaderSize = 45

// HostIDSize is the length of a host id: the first 8 bytes of the SHA-256
// RFC 7638 thumbprint of the host's X25519 public key. It is a filter, not
// a binding: the HPKE info binds the whole thumbprint.
const HostIDSize = 8

// ThumbprintSize is the length of a key's RFC 7638 SHA-256 thumbprint,
// decoded: what a producer's kid and a host's key id are, in base64url.
const ThumbprintSize = 32

// SeedSize is the length of a member's seed.
const SeedSize = 32

// MemberKeySize is the length of the member authentication key an entry
// may carry (issue 13's key, the plaintext field [FieldMemberKey]).
const MemberKeySize = 32

// MinPlaintext is the shortest member plaintext: a version byte and the
// seed.
const MinPlaintext = 1 + SeedSize

// MaxPlaintext is the longest member plaintext a payload may declare. It
// bounds a parser's work; a plaintext today is 33 or 67 bytes.
const MaxPlaintext = 256

// PlaintextVersion is the only member plaintext version.
const PlaintextVersion = 1

// FieldMemberKey is the type of the plaintext field that carries a
// [MemberKeySize]-byte member authentication key.
const FieldMemberKey = 1

// MaxSeq is the largest sequence number and round number, and MaxTime the
// largest epoch and time (Unix milliseconds), a payload may carry: the
// bounds of a frame's "n" and "t" (docs/protocol.md §4), since seed
// datagrams share a producer key's sequence of (e, n) with its frames.
const (
	MaxSeq  = 999_999_999_999
	MaxTime = 9_999_999_999_999
)

// Suite is an HPKE cipher suite (RFC 9180 §7): the KEM, KDF and AEAD ids.
type Suite struct {
	KEM, KDF, AEAD uint16
}

// SuiteX25519 is the suite of payload version 1: DHKEM(X25519,
// HKDF-SHA256), HKDF-SHA256 and ChaCha20Poly1305. It is the only suite
// [Parse] accepts today.
var SuiteX25519 = Suite{KEM: 0x0020, KDF: 0x0001, AEAD: 0x0003}

// EncLen returns the length of the suite's encapsulated key (Nenc), or 0
// for a suite this package does not know.
func (s Suite) EncLen() int {
	if s == SuiteX25519 {
		return 32
	}
	return 0
}

// TagLen returns the length of the suite's AEAD tag (Nt), or 0 for a suite
// this package does not know.
func (s Suite) TagLen() int {
	if s == SuiteX25519 {
		return 16
	}
	return 0
}

// EntryLen returns the length of one entry of suite s with plaintexts of
// ptLen bytes.
func EntryLen(s Suite, ptLen int) int {
	return HostIDSize + s.EncLen() + ptLen + s.TagLen()
}

// Len returns the length of a payload of count entries.
func Len(s Suite, ptLen, count int) int {
	return HeaderSize + count*EntryLen(s, ptLen)
}

var (
	// ErrSyntax reports a payload or plaintext that is not the canonical
	// encoding.
	ErrSyntax = errors.New("seedwire: not a canonical seed payload")
	// ErrVersion reports a payload or plaintext of an unknown version.
	ErrVersion = errors.New("seedwire: unknown version")
	// ErrSuite reports a payload sealed with an HPKE suite this package
	// does not know.
	ErrSuite = errors.New("seedwire: unsupported HPKE suite")
)

// A ParseError describes why a payload or plaintext was refused. Its
// Unwrap returns [ErrSyntax], [ErrVersion] or [ErrSuite]. It never holds
// plaintext bytes.
type ParseError struct {
	Field string // the field being read, or "" for the whole
	Msg   string
	Err   error
}

func (e *ParseError) Error() string {
	if e.Field == "" {
		return "seedwire: " + e.Msg
	}
	return fmt.Sprintf("seedwire: bad %s: %s", e.Field, e.Msg)
}

// Unwrap returns the sentinel error the ParseError refines.
func (e *ParseError) Unwrap() error { return e.Err }

func fail(field, msg string, err error) error {
	return &ParseError{Field: field, Msg: msg, Err: err}
}

// HostID is a host's id in a seed datagram (see [HostIDSize]).
type HostID [HostIDSize]byte

// Header is the header of one seed payload.
type Header struct {
	Suite Suite
	// Epoch, Seq and Time are the producer's e, n and t, as in a frame:
	// the sender's start time, the datagram's number in the key's sequence
	// (shared with frames), and when the datagram was made (Unix ms).
	Epoch, Seq uint64
	Time       int64
	// Round numbers the producer's seed rounds within the epoch, from 0.
	Round uint64
	// PlaintextLen is the length of every member plaintext in the payload.
	PlaintextLen int
	// Count is the number of entries, 1 to 255.
	Count int
}

// Check reports an error if h cannot be encoded.
func (h *Header) Check() error {
	switch {
	case h.Suite.EncLen() == 0:
		return fmt.Errorf("seedwire: suite %04x/%04x/%04x: %w", h.Suite.KEM, h.Suite.KDF, h.Suite.AEAD, ErrSuite)
	case h.Epoch > MaxTime:
		return fmt.Errorf("seedwire: epoch %d is over %d", h.Epoch, uint64(MaxTime))
	case h.Seq > MaxSeq:
		return fmt.Errorf("seedwire: sequence number %d is over %d", h.Seq, uint64(MaxSeq))
	case h.Time < 0 || h.Time > MaxTime:
		return fmt.Errorf("seedwire: time %d is outside 0 to %d", h.Time, int64(MaxTime))
	case h.Round > MaxSeq:
		return fmt.Errorf("seedwire: round %d is over %d", h.Round, uint64(MaxSeq))
	case h.PlaintextLen < MinPlaintext || h.PlaintextLen > MaxPlaintext:
		return fmt.Errorf("seedwire: plaintext length %d; want %d to %d", h.PlaintextLen, MinPlaintext, MaxPlaintext)
	case h.Count < 1 || h.Count > 255:
		return fmt.Errorf("seedwire: %d entries; want 1 to 255", h.Count)
	}
	return nil
}

// Append appends the encoded header to dst. It does not check h; call
// [Header.Check] first. The caller appends h.Count entries with
// [AppendEntry], in strictly increasing order of host id.
func (h *Header) Append(dst []byte) []byte {
	dst = append(dst, Magic...)
	dst = append(dst, Version)
	dst = binary.BigEndian.AppendUint16(dst, h.Suite.KEM)
	dst = binary.BigEndian.AppendUint16(dst, h.Suite.KDF)
	dst = binary.BigEndian.AppendUint16(dst, h.Suite.AEAD)
	dst = binary.BigEndian.AppendUint64(dst, h.Epoch)
	dst = binary.BigEndian.AppendUint64(dst, h.Seq)
	dst = binary.BigEndian.AppendUint64(dst, uint64(h.Time))
	dst = binary.BigEndian.AppendUint64(dst, h.Round)
	dst = binary.BigEndian.AppendUint16(dst, uint16(h.PlaintextLen))
	return append(dst, byte(h.Count))
}

// AppendEntry appends one entry: the host id, then sealed, the HPKE
// encapsulated key followed by the ciphertext (what crypto/hpke.Seal
// returns).
func AppendEntry(dst []byte, id HostID, sealed []byte) []byte {
	dst = append(dst, id[:]...)
	return append(dst, sealed...)
}

// Payload is a parsed seed payload. Its entries refer to the parsed bytes.
type Payload struct {
	Header
	entries []byte
	entry   int // the length of one entry
}

// Entry is one host's entry.
type Entry struct {
	Host HostID
	// Sealed is the HPKE encapsulated key followed by the ciphertext, as
	// crypto/hpke.Open takes it. It refers to the parsed payload.
	Sealed []byte
}

// Entry returns the i-th entry, 0 ≤ i < p.Count.
func (p *Payload) Entry(i int) Entry {
	e := p.entries[i*p.entry : (i+1)*p.entry]
	return Entry{Host: HostID(e[:HostIDSize]), Sealed: e[HostIDSize:]}
}

// Find returns the entry for host id, if the payload has one.
func (p *Payload) Find(id HostID) (Entry, bool) {
	for i := 0; i < p.Count; i++ {
		e := p.entries[i*p.entry:]
		if c := bytes.Compare(e[:HostIDSize], id[:]); c == 0 {
			return p.Entry(i), true
		} else if c > 0 { // entries are sorted by host id
			break
		}
	}
	return Entry{}, false
}

// Parse decodes a canonical seed payload (the JWS payload, decoded). It
// checks the header's bounds, the suite, that the length is exactly that
// of Count entries and that host ids strictly increase (so no host has two
// entries). Errors are a *[ParseError].
func Parse(b []byte) (Payload, error) {
	var p Payload
	if len(b) < HeaderSize {
		return p, fail("", fmt.Sprintf("%d bytes; a header is %d", len(b), HeaderSize), ErrSyntax)
	}
	h, err := parseHeader(b[:HeaderSize])
	if err != nil {
		return p, err
	}
	p.Header, p.entry = h, EntryLen(h.Suite, h.PlaintextLen)
	if want := HeaderSize + p.Count*p.entry; len(b) != want {
		return p, fail("", fmt.Sprintf("%d bytes; %d entries of %d make %d", len(b), p.Count, p.entry, want), ErrSyntax)
	}
	p.entries = b[HeaderSize:]
	for i := 1; i < p.Count; i++ {
		if err := order(i, p.entries[(i-1)*p.entry:], p.entries[i*p.entry:]); err != nil {
			return p, err
		}
	}
	return p, nil
}

// order checks that the host id at cur follows the one at prev.
func order(i int, prev, cur []byte) error {
	if bytes.Compare(prev[:HostIDSize], cur[:HostIDSize]) >= 0 {
		return fail("host id", fmt.Sprintf("entry %d does not follow entry %d in order (a duplicate or unsorted host id)", i, i-1), ErrSyntax)
	}
	return nil
}

// parseHeader decodes and checks the HeaderSize bytes of a header.
func parseHeader(b []byte) (Header, error) {
	var h Header
	if string(b[:3]) != Magic {
		return h, fail("magic", "not a seed payload", ErrSyntax)
	}
	if b[3] != Version {
		return h, fail("version", fmt.Sprintf("%d; want %d", b[3], Version), ErrVersion)
	}
	be := binary.BigEndian
	h.Suite = Suite{KEM: be.Uint16(b[4:]), KDF: be.Uint16(b[6:]), AEAD: be.Uint16(b[8:])}
	if h.Suite != SuiteX25519 {
		return h, fail("suite", fmt.Sprintf("%04x/%04x/%04x", h.Suite.KEM, h.Suite.KDF, h.Suite.AEAD), ErrSuite)
	}
	h.Epoch, h.Seq = be.Uint64(b[10:]), be.Uint64(b[18:])
	t, round := be.Uint64(b[26:]), be.Uint64(b[34:])
	switch {
	case h.Epoch > MaxTime:
		return h, fail("e", "over 9999999999999", ErrSyntax)
	case h.Seq > MaxSeq:
		return h, fail("n", "over 999999999999", ErrSyntax)
	case t > MaxTime:
		return h, fail("t", "over 9999999999999", ErrSyntax)
	case round > MaxSeq:
		return h, fail("round", "over 999999999999", ErrSyntax)
	}
	h.Time, h.Round = int64(t), round
	h.PlaintextLen, h.Count = int(be.Uint16(b[42:])), int(b[44])
	if h.PlaintextLen < MinPlaintext || h.PlaintextLen > MaxPlaintext {
		return h, fail("plaintext length", fmt.Sprintf("%d; want %d to %d", h.PlaintextLen, MinPlaintext, MaxPlaintext), ErrSyntax)
	}
	if h.Count == 0 {
		return h, fail("count", "no entry", ErrSyntax)
	}
	return h, nil
}

// IsSeed reports whether datagram, a JWS in the Compact Serialization, has
// a payload part that starts with [MagicText]: a seed datagram, which a
// receiver of frames skips. It looks at no more than the bytes up to the
// first '.' and the four after it, and checks nothing else.
func IsSeed(datagram []byte) bool {
	i := bytes.IndexByte(datagram, '.')
	return i >= 0 && bytes.HasPrefix(datagram[i+1:], []byte(MagicText))
}

// Scan reports whether datagram, a JWS in the Compact Serialization whose
// payload part starts with [MagicText], has an entry for host id. It is
// the cheap step a host runs before any signature check
// (docs/protocol.md §9.6): it decodes the payload header and the host ids
// only, in place, allocating nothing, and checks them as [Parse] does (the
// header's fields, the payload's length, the order of host ids). The
// error, a *[ParseError], is for a payload that [Parse] would refuse for
// these; the rest (the sealed bytes, canonical base64url) is for Parse
// and the signature check. found is false when err is not nil.
func Scan(datagram []byte, id HostID) (found bool, err error) {
	i := bytes.IndexByte(datagram, '.')
	if i < 0 {
		return false, fail("", "not a JWS in the Compact Serialization", ErrSyntax)
	}
	p := datagram[i+1:]
	j := bytes.IndexByte(p, '.')
	if j < 0 {
		return false, fail("", "not a JWS in the Compact Serialization", ErrSyntax)
	}
	p = p[:j]
	var hb [HeaderSize]byte // 45 bytes: exactly 60 characters
	if len(p) < 60 {
		return false, fail("", "shorter than a header", ErrSyntax)
	}
	if n, err := base64.RawURLEncoding.Decode(hb[:], p[:60]); err != nil || n != HeaderSize {
		return false, fail("", "bad base64url in the header", ErrSyntax)
	}
	h, err := parseHeader(hb[:])
	if err != nil {
		return false, err
	}
	if want := Len(h.Suite, h.PlaintextLen, h.Count); base64.RawURLEncoding.EncodedLen(want) != len(p) {
		return false, fail("", fmt.Sprintf("%d characters; %d entries make %d bytes, %d characters",
			len(p), h.Count, want, base64.RawURLEncoding.EncodedLen(want)), ErrSyntax)
	}
	entry := EntryLen(h.Suite, h.PlaintextLen)
	var prev, cur [HostIDSize]byte
	for k := 0; k < h.Count; k++ {
		if !decodeAt(p, HeaderSize+k*entry, cur[:]) {
			return false, fail("host id", fmt.Sprintf("entry %d: bad base64url", k), ErrSyntax)
		}
		if k > 0 {
			if err := order(k, prev[:], cur[:]); err != nil {
				return false, err
			}
		}
		found = found || cur == id
		prev = cur
	}
	return found, nil
}

// decodeAt decodes bytes off to off+len(out) of the base64url text enc
// into out, decoding only the 4-character groups that hold them.
func decodeAt(enc []byte, off int, out []byte) bool {
	g0, g1 := off/3, (off+len(out)+2)/3
	lo, hi := 4*g0, min(4*g1, len(enc))
	if lo >= hi {
		return false
	}
	var buf [HostIDSize + 6]byte
	n, err := base64.RawURLEncoding.Decode(buf[:], enc[lo:hi])
	skip := off - 3*g0
	if err != nil || n < skip+len(out) {
		return false
	}
	copy(out, buf[skip:])
	return true
}

// Plaintext is a member's plaintext: what one entry seals for one host.
type Plaintext struct {
	// Seed is the host's secret seed.
	Seed [SeedSize]byte
	// MemberKey is the member authentication key (issue 13), if
	// HasMemberKey.
	MemberKey    [MemberKeySize]byte
	HasMemberKey bool
}

// Len returns the length of the encoded plaintext.
func (pt *Plaintext) Len() int {
	if pt.HasMemberKey {
		return MinPlaintext + 2 + MemberKeySize
	}
	return MinPlaintext
}

// Append appends the encoded plaintext to dst.
func (pt *Plaintext) Append(dst []byte) []byte {
	dst = append(dst, PlaintextVersion)
	dst = append(dst, pt.Seed[:]...)
	if pt.HasMemberKey {
		dst = append(dst, FieldMemberKey, MemberKeySize)
		dst = append(dst, pt.MemberKey[:]...)
	}
	return dst
}

// ParsePlaintext decodes a member plaintext: the version, the seed, then
// fields of type, length and value in strictly increasing order of type.
// A field of a type this package does not know is skipped; a known one
// must have its length. Errors are a *[ParseError] that holds no byte of
// b.
func ParsePlaintext(b []byte) (Plaintext, error) {
	var pt Plaintext
	if len(b) < MinPlaintext {
		return pt, fail("plaintext", fmt.Sprintf("%d bytes; want at least %d", len(b), MinPlaintext), ErrSyntax)
	}
	if b[0] != PlaintextVersion {
		return pt, fail("plaintext version", fmt.Sprintf("%d; want %d", b[0], PlaintextVersion), ErrVersion)
	}
	copy(pt.Seed[:], b[1:])
	last := 0
	for r := b[MinPlaintext:]; len(r) > 0; {
		if len(r) < 2 || len(r) < 2+int(r[1]) {
			return Plaintext{}, fail("plaintext field", "truncated", ErrSyntax)
		}
		typ, v := int(r[0]), r[2:2+int(r[1])]
		if typ <= last {
			return Plaintext{}, fail("plaintext field", fmt.Sprintf("type %d after type %d; want strictly increasing types from 1", typ, last), ErrSyntax)
		}
		last = typ
		if typ == FieldMemberKey {
			if len(v) != MemberKeySize {
				return Plaintext{}, fail("plaintext field", fmt.Sprintf("member key of %d bytes; want %d", len(v), MemberKeySize), ErrSyntax)
			}
			copy(pt.MemberKey[:], v)
			pt.HasMemberKey = true
		}
		r = r[2+len(v):]
	}
	return pt, nil
}

// InfoLabel starts the HPKE info of every entry.
const InfoLabel = "ssmrandom seed v1"

// InfoLen is the length of the HPKE info [AppendInfo] writes.
const InfoLen = len(InfoLabel) + 1 + ThumbprintSize + 8 + 8 + ThumbprintSize

// AppendInfo appends the HPKE info of the entry for the host whose key's
// thumbprint is host, in round round of epoch epoch of the producer whose
// key's thumbprint is producer (docs/protocol.md §9.4):
//
//	"ssmrandom seed v1" || 0x00 || producer || epoch || round || host
//
// with epoch and round as 8-byte big-endian integers. It binds an entry
// to one producer key, epoch, round and host.
func AppendInfo(dst []byte, producer [ThumbprintSize]byte, epoch, round uint64, host [ThumbprintSize]byte) []byte {
	dst = append(dst, InfoLabel...)
	dst = append(dst, 0)
	dst = append(dst, producer[:]...)
	dst = binary.BigEndian.AppendUint64(dst, epoch)
	dst = binary.BigEndian.AppendUint64(dst, round)
	return append(dst, host[:]...)
}

// Thumbprint decodes a key id, the base64url RFC 7638 thumbprint, to its
// 32 bytes.
func Thumbprint(kid string) ([ThumbprintSize]byte, error) {
	var t [ThumbprintSize]byte
	b, err := base64.RawURLEncoding.Strict().DecodeString(kid)
	if err != nil || len(b) != ThumbprintSize {
		return t, fmt.Errorf("seedwire: key id %q is not %d bytes of base64url", kid, ThumbprintSize)
	}
	copy(t[:], b)
	return t, nil
}
