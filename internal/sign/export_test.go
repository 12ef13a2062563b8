package sign

import "crypto/ed25519"

// The API below is for the tests and benchmarks only: the receive path
// uses [Keyring.Check].

// VerifyInto is [Keyring.Verify] decoding the payload into dst[:0],
// reusing its capacity. Its error is one of the four sentinels, unwrapped.
// It allocates nothing unless dst is too small for the payload, but for
// a signature that does not verify: crypto/ed25519 allocates its error.
func (r *Keyring) VerifyInto(dst, datagram []byte) (payload []byte, kid string, err error) {
	m, v := r.parse(dst, datagram, true)
	if v.err != nil {
		return nil, "", v.err
	}
	if err := m.Verify(); err != nil {
		return nil, "", err
	}
	return m.Payload, m.KeyID, nil
}

// Parse runs the checks of [Keyring.Verify] that come before the Ed25519
// verification: the shape of the datagram, the protected header, the kid
// lookup and the signature's length. It decodes the payload into dst[:0]
// and returns a [JWS] that refers to datagram; the caller then calls
// [JWS.Verify]. Its error is one of the four sentinels, unwrapped, and
// it allocates nothing unless dst is too small for the payload.
func (r *Keyring) Parse(dst, datagram []byte) (JWS, error) {
	m, v := r.parse(dst, datagram, true)
	return m, v.err
}

// MarshalPrivate returns priv as a private JWK with its kid, one line of
// JSON followed by a newline.
func MarshalPrivate(priv ed25519.PrivateKey) ([]byte, error) {
	return MarshalPrivateValid(priv, Validity{})
}

// MarshalPublic returns pub as a public JWK with its kid, one line of JSON
// followed by a newline.
func MarshalPublic(pub ed25519.PublicKey) ([]byte, error) {
	return MarshalPublicValid(pub, Validity{})
}
