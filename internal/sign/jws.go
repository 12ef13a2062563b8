package sign

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/nordunet/ssmrandom/internal/membertag"
)

// Alg is the only JWS algorithm ssmrandom signs or accepts (RFC 8037).
const Alg = "EdDSA"

// SignatureLen is the length of the encoded signature part of a datagram:
// a 64-byte Ed25519 signature in base64url without padding.
const SignatureLen = 86

// Errors returned by [Keyring.Verify], one per reason a datagram is
// dropped. Verify wraps them, so test them with errors.Is; [Refusal.Err]
// and [JWS.Verify] return them as they are.
var (
	ErrMalformed    = errors.New("sign: malformed JWS")
	ErrBadAlg       = errors.New("sign: alg is not EdDSA")
	ErrUnknownKey   = errors.New("sign: kid not in the keyring")
	ErrBadSignature = errors.New("sign: bad signature")
)

// MaxPayload is the largest payload, in bytes, that [Signer.Sign] signs
// and [Keyring.Verify] returns: 64 KiB, more than a UDP datagram can carry
// once it is base64url-encoded, so that the bound costs no real frame.
const MaxPayload = 65536

// Signer signs payloads with one Ed25519 key. Make one with [NewSigner]
// or [LoadSigner]; the zero value is not usable. A Signer is safe for
// concurrent use.
type Signer struct {
	kid    string
	priv   ed25519.PrivateKey
	header string // the protected header {"alg":"EdDSA","kid":KID}, encoded
	valid  Validity
}

// NewSigner returns a Signer for priv.
func NewSigner(priv ed25519.PrivateKey) (*Signer, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("sign: Ed25519 private key of %d bytes; want %d", len(priv), ed25519.PrivateKeySize)
	}
	kid := KeyID(priv.Public().(ed25519.PublicKey))
	header := base64.RawURLEncoding.EncodeToString([]byte(headerPrefix + kid + headerSuffix))
	return &Signer{kid: kid, priv: priv, header: header}, nil
}

// KeyID returns the key id of the signing key.
func (s *Signer) KeyID() string { return s.kid }

// Valid returns the validity period of the signing key, as its JWK file
// gives it ([LoadSigner]); receivers refuse frames made outside it.
func (s *Signer) Valid() Validity { return s.valid }

// Public returns the public key of the signing key.
func (s *Signer) Public() ed25519.PublicKey { return s.priv.Public().(ed25519.PublicKey) }

// Len returns the length of the datagram that [Signer.Sign] makes of a
// payload of n bytes.
func (s *Signer) Len(n int) int {
	return len(s.header) + 1 + base64.RawURLEncoding.EncodedLen(n) + 1 + SignatureLen
}

// TaggedLen returns the length of the datagram that [Signer.AppendTagged]
// makes of a payload of n bytes: [Signer.Len] and the member tag.
func (s *Signer) TaggedLen(n int) int { return TaggedDatagramLen(n) }

// DatagramLen returns the length of a datagram that carries a payload of
// n bytes, whatever key signs it: the protected header, and so the
// datagram, is of one length for every key ([Signer.Len]).
func DatagramLen(n int) int {
	return base64.RawURLEncoding.EncodedLen(headerLen) + 1 + base64.RawURLEncoding.EncodedLen(n) + 1 + SignatureLen
}

// TaggedDatagramLen returns the length of a datagram with a member tag
// that carries a payload of n bytes, whatever key signs it.
func TaggedDatagramLen(n int) int {
	return base64.RawURLEncoding.EncodedLen(taggedHeaderLen) + 1 + base64.RawURLEncoding.EncodedLen(n) + 1 + SignatureLen
}

// Sign returns payload signed as a JWS in the Compact Serialization, with
// the protected header {"alg":"EdDSA","kid":KID}. Ed25519 is
// deterministic: the same key and payload always give the same bytes. A
// payload that is empty or longer than [MaxPayload] is an error: no
// receiver would accept it.
func (s *Signer) Sign(payload []byte) ([]byte, error) {
	if len(payload) == 0 || len(payload) > MaxPayload {
		return nil, fmt.Errorf("sign: payload of %d bytes; want 1 to %d", len(payload), MaxPayload)
	}
	return s.Append(make([]byte, 0, s.Len(len(payload))), payload), nil
}

// Append appends the datagram that [Signer.Sign] makes of payload to dst
// and returns the extended slice. It allocates nothing if dst has room for
// [Signer.Len] more bytes. It does not check the payload's length.
func (s *Signer) Append(dst, payload []byte) []byte {
	dst = slices.Grow(dst, s.Len(len(payload)))
	start := len(dst)
	dst = append(dst, s.header...)
	dst = append(dst, '.')
	dst = base64.RawURLEncoding.AppendEncode(dst, payload)
	sig := ed25519.Sign(s.priv, dst[start:])
	dst = append(dst, '.')
	return base64.RawURLEncoding.AppendEncode(dst, sig)
}

// AppendTagged is [Signer.Append] with a member tag under k in the
// protected header, {"alg":"EdDSA","kid":KID,"mt":MT} (docs/protocol.md
// §10): the tag is made over the payload part, then the whole signed.
// With k nil it is Append. It allocates nothing if dst has room for
// [Signer.TaggedLen] more bytes.
func (s *Signer) AppendTagged(dst, payload []byte, k *membertag.Key) []byte {
	if k == nil {
		return s.Append(dst, payload)
	}
	dst = slices.Grow(dst, s.TaggedLen(len(payload)))
	start := len(dst)
	// The header is encoded after the payload part, whose tag it holds:
	// write the payload part at its final offset first.
	hlen := base64.RawURLEncoding.EncodedLen(taggedHeaderLen)
	dst = dst[:start+hlen+1]
	dst = base64.RawURLEncoding.AppendEncode(dst, payload)
	part := dst[start+hlen+1:]
	var h [taggedHeaderLen]byte
	n := copy(h[:], headerPrefix)
	n += copy(h[n:], s.kid)
	n += copy(h[n:], tagInfix)
	var mt [membertag.Size]byte
	base64.RawURLEncoding.Encode(h[n:n+mtLen], k.Append(mt[:0], s.kid, part))
	copy(h[n+mtLen:], headerSuffix)
	base64.RawURLEncoding.Encode(dst[start:start+hlen], h[:])
	dst[start+hlen] = '.'
	sig := ed25519.Sign(s.priv, dst[start:])
	dst = append(dst, '.')
	return base64.RawURLEncoding.AppendEncode(dst, sig)
}

// Keyring is a set of trusted public keys indexed by key id. It is not
// changed after [NewKeyring] returns it, so it is safe for concurrent use.
// The zero value is an empty keyring that trusts nothing.
type Keyring struct {
	keys map[string]ringKey
}

// ringKey is a key of a [Keyring], with its public key decoded.
type ringKey struct {
	Key
	pub *publicKey
}

// NewKeyring returns a keyring of keys. A key given twice counts once,
// with the first one's File and the strictest validity of all its copies
// (the latest NotBefore, the earliest NotAfter), so that a copy with an
// end date cannot be undone by an older copy without one. A key's ID, if
// empty, is computed. A public key of the wrong length or an ID that is
// not the key's thumbprint is an error. Each key is decoded once, here
// (a tenth of a signature verification's time per key), so that
// verifying a signature need not.
func NewKeyring(keys ...Key) (*Keyring, error) {
	r := &Keyring{keys: make(map[string]ringKey, len(keys))}
	for _, k := range keys {
		if len(k.Public) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("sign: Ed25519 public key of %d bytes; want %d", len(k.Public), ed25519.PublicKeySize)
		}
		kid := KeyID(k.Public)
		if k.ID != "" && k.ID != kid {
			return nil, fmt.Errorf("sign: key id %q is not the key's thumbprint %q", k.ID, kid)
		}
		k.ID = kid
		if prev, dup := r.keys[k.ID]; dup {
			prev.Valid = prev.Valid.intersect(k.Valid)
			r.keys[k.ID] = prev
			continue
		}
		r.keys[k.ID] = ringKey{Key: k, pub: newPublicKey(k.Public)}
	}
	return r, nil
}

// Len returns the number of keys.
func (r *Keyring) Len() int { return len(r.keys) }

// Keys returns the keys sorted by id.
func (r *Keyring) Keys() []Key {
	keys := make([]Key, 0, len(r.keys))
	for _, k := range r.keys {
		keys = append(keys, k.Key)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].ID < keys[j].ID })
	return keys
}

// Lookup returns the key with id kid.
func (r *Keyring) Lookup(kid string) (Key, bool) {
	k, ok := r.keys[kid]
	return k.Key, ok
}

// Verify checks that datagram is a JWS in the Compact Serialization as
// [Signer.Sign] writes it, signed by a key in the keyring, and returns its
// payload and the key id. The datagram must be three parts H.P.S, each
// non-empty canonical base64url without padding; H must decode to exactly
// {"alg":"EdDSA","kid":KID}, KID in the keyring; S must be that key's
// Ed25519 signature of the received bytes H.P; P must decode to at most
// [MaxPayload] bytes. The error wraps [ErrMalformed], [ErrBadAlg],
// [ErrUnknownKey] or [ErrBadSignature] and says what was wrong.
func (r *Keyring) Verify(datagram []byte) (payload []byte, kid string, err error) {
	payload, kid, v := r.verify(nil, datagram)
	if v.err != nil {
		return nil, "", v.error()
	}
	return payload, kid, nil
}

// JWS is a datagram that passed every check of [Keyring.Verify] but the
// signature itself: not yet verified. Its Payload is decoded but not yet
// authentic: it may be read to decide whether the signature is worth
// checking (a replayed or stale frame is not), and trusted only once
// [JWS.Verify] returns nil.
type JWS struct {
	Payload []byte   // the decoded payload, in the caller's buffer (set by DecodePayload)
	KeyID   string   // the kid, which is in the keyring
	Valid   Validity // the key's validity period

	encoded []byte     // the payload part, base64url, within the datagram
	pub     *publicKey // the key, decoded
	input   []byte     // the JWS Signing Input H.P, within the datagram
	sig     [ed25519.SignatureSize]byte
	tag     [membertag.Size]byte // the decoded MT, if tagged
	tagged  bool
}

// MemberTag returns the decoded MT of the header's member tag
// (docs/protocol.md §10) and true, or false if the datagram has none.
// Like everything in m before [JWS.Verify], it is not authentic.
func (m *JWS) MemberTag() ([]byte, bool) {
	if !m.tagged {
		return nil, false
	}
	return m.tag[:], true
}

// CheckTag reports whether the datagram carries a member tag that k
// accepts: its round, and its HMAC over the key id and the payload part.
func (m *JWS) CheckTag(k *membertag.Key) bool {
	return m.tagged && k.Check(m.tag[:], m.KeyID, m.encoded)
}

// Check runs the checks of [Keyring.Verify] that come before the Ed25519
// verification: the shape of the datagram, the protected header, the kid
// lookup and the signature's length. It returns a [JWS] that refers to
// datagram, its payload not yet decoded: call [JWS.PayloadHead] to read
// its beginning, [JWS.DecodePayload] for the whole of it, and then
// [JWS.Verify]. A datagram it refuses has a [Refusal] that is not zero.
// It allocates nothing.
func (r *Keyring) Check(datagram []byte) (JWS, Refusal) {
	m, v := r.parse(nil, datagram, false)
	return m, Refusal{v}
}

// Refusal says why [Keyring.Check] refused a datagram; the zero value
// refuses nothing. It holds a copy of the header value it quotes, so it
// allocates nothing and stays valid when the datagram is gone.
type Refusal struct{ r reject }

// Err returns the sentinel: [ErrMalformed], [ErrBadAlg], [ErrUnknownKey]
// or [ErrBadSignature], or nil for no refusal.
func (r Refusal) Err() error { return r.r.err }

// Explain returns an error that wraps the sentinel and says what was
// wrong, in the words of [Keyring.Verify]; nil for no refusal.
func (r Refusal) Explain() error {
	if r.r.err == nil {
		return nil
	}
	return r.r.error()
}

// PayloadHead decodes at most the first n bytes of the payload into
// dst[:0], fewer if the payload is shorter; it checks nothing past them.
func (m *JWS) PayloadHead(dst []byte, n int) []byte {
	chars := min(len(m.encoded), (n+2)/3*4)
	out, err := strictB64.AppendDecode(dst[:0], m.encoded[:chars])
	if err != nil {
		return dst[:0] // the whole part is decoded, and refused, later
	}
	return out
}

// DecodePayload decodes the payload into dst[:0] and sets m.Payload.
func (m *JWS) DecodePayload(dst []byte) error {
	payload, err := strictB64.AppendDecode(dst[:0], m.encoded)
	if err != nil {
		return ErrMalformed
	}
	m.Payload = payload
	return nil
}

// Verify checks the Ed25519 signature: nil, or [ErrBadSignature]. Its
// rule is crypto/ed25519.Verify's, with the public key decoded once when
// the keyring was made, which saves a tenth of a verification. It
// allocates nothing.
func (m *JWS) Verify() error {
	if m.pub == nil || !m.pub.verify(m.input, &m.sig) {
		return ErrBadSignature
	}
	return nil
}

// verify does the checks of [Keyring.Verify], cheapest first.
func (r *Keyring) verify(dst, datagram []byte) ([]byte, string, reject) {
	m, v := r.parse(dst, datagram, true)
	if v.err != nil {
		return nil, "", v
	}
	if m.Verify() != nil {
		return nil, "", refuseArg(ErrBadSignature, "kid %s", []byte(m.KeyID))
	}
	return m.Payload, m.KeyID, reject{}
}

// parse does the checks that come before the signature, cheapest first;
// it decodes the payload into dst if decode is set.
func (r *Keyring) parse(dst, datagram []byte, decode bool) (JWS, reject) {
	// go-jose would also read the JSON Serialization, forgive white space
	// and padding, and decode base64url loosely (ignoring the unused low
	// bits of the last character), so that one signed frame would have
	// many encodings. A datagram has exactly one: each part is decoded
	// strictly, which refuses any other character and any non-canonical
	// end (RFC 4648, section 3.5), without a separate pass over the bytes.
	// (encoding/base64 skips '\r' and '\n' even when strict: refuse them
	// first, with two quick scans.)
	i := bytes.IndexByte(datagram, '.')
	j := i + 1 + bytes.IndexByte(datagram[i+1:], '.')
	if i < 0 || j <= i || bytes.IndexByte(datagram[j+1:], '.') >= 0 ||
		bytes.IndexByte(datagram, '\n') >= 0 || bytes.IndexByte(datagram, '\r') >= 0 {
		return JWS{}, refuse(ErrMalformed, "not three base64url parts")
	}
	h, p, sig := datagram[:i], datagram[i+1:j], datagram[j+1:]
	if len(h) == 0 || len(p) == 0 || len(sig) == 0 {
		return JWS{}, refuse(ErrMalformed, "empty part")
	}
	if base64.RawURLEncoding.DecodedLen(len(p)) > MaxPayload {
		return JWS{}, refuse(ErrMalformed, "payload of more than 65536 bytes")
	}
	var hbuf [maxHeader]byte
	var tag [membertag.Size]byte
	kid, tagged, v := decodeHeader(&hbuf, h, &tag)
	if v.err != nil {
		return JWS{}, v
	}
	key, ok := r.keys[string(kid)]
	if !ok {
		return JWS{}, refuseArg(ErrUnknownKey, "%q", kid)
	}
	if !isBase64URL(sig) || !canonicalBase64URL(sig) {
		return JWS{}, refuse(ErrMalformed, "a part is not canonical base64url")
	}
	if len(sig) != SignatureLen {
		return JWS{}, refuseArg(ErrBadSignature, "kid %s: signature is not 64 bytes", kid)
	}
	m := JWS{KeyID: key.ID, Valid: key.Valid, pub: key.pub, input: datagram[:j], encoded: p, tag: tag, tagged: tagged}
	if _, err := strictB64.Decode(m.sig[:], sig); err != nil {
		return JWS{}, refuse(ErrMalformed, "a part is not canonical base64url") // not reached: checked above
	}
	if decode {
		if err := m.DecodePayload(dst); err != nil {
			return JWS{}, refuse(ErrMalformed, "a part is not canonical base64url")
		}
	}
	return m, reject{}
}

// strictB64 decodes base64url without padding and refuses anything but
// the one canonical encoding.
var strictB64 = base64.RawURLEncoding.Strict()

// canonicalBase64URL reports whether b, known to hold only base64url
// characters, is the one unpadded encoding of some bytes: its length is
// not 1 more than a multiple of 4 and its last character's unused low
// bits are zero (RFC 4648, section 3.5).
func canonicalBase64URL(b []byte) bool {
	var unused byte
	switch len(b) % 4 {
	case 0:
		return true
	case 1:
		return false
	case 2:
		unused = 0x0f
	case 3:
		unused = 0x03
	}
	return base64URLValue(b[len(b)-1])&unused == 0
}

// base64URLValue returns the 6-bit value of a base64url character.
func base64URLValue(c byte) byte {
	switch {
	case c >= 'A' && c <= 'Z':
		return c - 'A'
	case c >= 'a' && c <= 'z':
		return c - 'a' + 26
	case c >= '0' && c <= '9':
		return c - '0' + 52
	case c == '-':
		return 62
	}
	return 63 // '_'
}

// isBase64URL reports whether b holds only base64url characters and dots.
func isBase64URL(b []byte) bool {
	for _, c := range b {
		if !base64URLChar[c] && c != '.' {
			return false
		}
	}
	return true
}

// base64URLChar says which bytes are base64url characters.
var base64URLChar = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") {
		t[c] = true
	}
	return t
}()
