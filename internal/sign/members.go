package sign

// jwkMembers are the members a producer JWK may have (docs/protocol.md
// §7): what keygen writes, and "d" in a private key. Names are
// case-sensitive: "X" is not "x", and is refused, not read as "x".
var jwkMembers = []string{"kty", "crv", "x", "d", "kid", "alg", "use", "nbf", "exp"}
