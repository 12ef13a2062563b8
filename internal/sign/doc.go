// Package sign holds the producer keys and the JWS layer of ssmrandom:
// Ed25519 keys as JWK files (RFC 8037), key ids as RFC 7638 thumbprints,
// a [Keyring] of trusted public keys, and signing and verification of
// datagrams in the JWS Compact Serialization (RFC 7515) with alg "EdDSA".
//
// go-jose is used here and nowhere else, for JWK files. Datagrams are
// written and verified by hand, strictly (see [Keyring.Verify]); tests
// hold both to go-jose. The package knows keys and JWS, not sockets or
// the IEDP payload inside a JWS (see package frame).
package sign
