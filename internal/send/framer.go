package send

import (
	"github.com/nordunet/ssmrandom/internal/frame"
	"github.com/nordunet/ssmrandom/internal/sign"
)

// A Framer makes the datagram that carries one chunk of entropy. The
// [Loop] gives each of its workers ([Config.Workers]) its own Framer,
// made with Clone, and calls each once per datagram from that worker's
// goroutine.
type Framer interface {
	// Frame returns the datagram that carries f.Data, with f's source,
	// epoch, sequence number and time where the format has them. It
	// builds the datagram in dst[:0], which the [Loop] gives the
	// capacity Len says, or returns f.Data itself; so the result stays
	// valid, whatever later calls do, until dst or f.Data is reused.
	Frame(dst []byte, f *frame.Frame) []byte
	// Len returns the length of the longest datagram that carries n
	// entropy bytes from source, so that the caller can check that
	// every datagram fits the datagram size limit.
	Len(source string, n int) int
	// Clone returns a Framer that frames as this one does and shares no
	// mutable state with it (scratch buffers), for another goroutine.
	Clone() Framer
}

// Signed frames entropy as IEDP 2.0 frames signed as a JWS
// (docs/protocol.md): what ssmrandom send sends. Make one with
// [NewSigned], or [NewTagged] for frames with a member tag; the zero value
// is not usable. It keeps a scratch buffer, so it is not safe for
// concurrent use: give each goroutine its own [Signed.Clone].
type Signed struct {
	signer  *sign.Signer
	payload []byte // the frame being signed, reused
	tag     tagger
}

// NewSigned returns a [Signed] framer that signs with s.
func NewSigned(s *sign.Signer) *Signed { return &Signed{signer: s} }

// NewTagged returns a [Signed] framer that signs with s and tags each frame
// with the key that keys holds for its sequence number when it frames it,
// if that key is of the frame's epoch (send --members, docs/protocol.md §10). Its [Signed.Len]
// makes room for the tag whether or not a frame carries one, so that frame
// sizes do not change when tagging starts.
func NewTagged(s *sign.Signer, keys *TagKey) *Signed {
	return &Signed{signer: s, tag: tagger{keys: keys}}
}

// Clone returns a Signed framer that signs and tags as s does, with its
// own scratch buffer and its own copy of the tagging key, for another
// goroutine.
func (s *Signed) Clone() Framer { return &Signed{signer: s.signer, tag: tagger{keys: s.tag.keys}} }

// Frame returns f signed: a JWS in the Compact Serialization.
func (s *Signed) Frame(dst []byte, f *frame.Frame) []byte {
	s.payload = f.Append(s.payload[:0])
	return s.signer.AppendTagged(dst[:0], s.payload, s.tag.key(f.Epoch, f.Seq))
}

// Len returns the length of the longest signed frame of n bytes from
// source: tagged, if s tags.
func (s *Signed) Len(source string, n int) int {
	if s.tag.keys != nil {
		return s.signer.TaggedLen(frame.MaxLen(source, n))
	}
	return s.signer.Len(frame.MaxLen(source, n))
}

// V1 frames entropy as the original ssmrandom's unsigned version 1.0
// frames, byte for byte as it sent them (docs/protocol.md §8): what
// ssmrandom send --unsigned sends. They carry no epoch, sequence number,
// time or signature. Its zero value is ready to use, and it is safe for
// concurrent use.
type V1 struct{}

// Frame returns the version 1.0 frame of f's source and data.
func (V1) Frame(dst []byte, f *frame.Frame) []byte {
	return frame.AppendV1(dst[:0], f.Source, f.Data)
}

// Len returns the length of the version 1.0 frame of n bytes from source.
func (V1) Len(source string, n int) int { return frame.V1Len(source, n) }

// Clone returns V1{}: it has no state.
func (V1) Clone() Framer { return V1{} }

// Raw sends the entropy bytes as they are, one chunk a datagram, with no
// framing: what ssmrandom rawsend sends. Its zero value is ready to use,
// and it is safe for concurrent use.
type Raw struct{}

// Frame returns f.Data itself.
func (Raw) Frame(_ []byte, f *frame.Frame) []byte { return f.Data }

// Len returns n.
func (Raw) Len(_ string, n int) int { return n }

// Clone returns Raw{}: it has no state.
func (Raw) Clone() Framer { return Raw{} }
