package sign_test

import (
	"crypto/ed25519"
	"fmt"

	"github.com/nordunet/ssmrandom/internal/sign"
)

// exampleSeed is a fixed seed so that the examples print the same bytes on
// every run; real keys come from crypto/rand through the keygen command.
var exampleSeed = []byte("ssmrandom example seed, not safe")

func ExampleSigner_Sign() {
	priv := ed25519.NewKeyFromSeed(exampleSeed)
	s, err := sign.NewSigner(priv)
	if err != nil {
		fmt.Println(err)
		return
	}
	payload := []byte(`{"v":"2.0","s":"producer.example.org","e":1764000000000,"n":7,"t":1764000012345,"d":"AAEC"}`)
	datagram, err := s.Sign(payload)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("kid:", s.KeyID())
	fmt.Println("length:", len(datagram), "=", s.Len(len(payload)))
	fmt.Printf("header: %s\n", datagram[:s.Len(0)-sign.SignatureLen-2])
	// Output:
	// kid: BOV6cocs9EdfUXIr-nwZZm6plnxvpFTtxFCkNstAGPM
	// length: 300 = 300
	// header: eyJhbGciOiJFZERTQSIsImtpZCI6IkJPVjZjb2NzOUVkZlVYSXItbndaWm02cGxueHZwRlR0eEZDa05zdEFHUE0ifQ
}

func ExampleKeyring_Verify() {
	priv := ed25519.NewKeyFromSeed(exampleSeed)
	s, err := sign.NewSigner(priv)
	if err != nil {
		fmt.Println(err)
		return
	}
	datagram, err := s.Sign([]byte(`{"v":"2.0","s":"producer.example.org","e":1764000000000,"n":7,"t":1764000012345,"d":"AAEC"}`))
	if err != nil {
		fmt.Println(err)
		return
	}

	ring, err := sign.NewKeyring(sign.Key{Public: s.Public()})
	if err != nil {
		fmt.Println(err)
		return
	}
	payload, kid, err := ring.Verify(datagram)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("kid:", kid)
	fmt.Printf("payload: %s\n", payload)

	// One changed byte and the datagram is dropped.
	if i := len(datagram) - 10; datagram[i] == 'A' {
		datagram[i] = 'B'
	} else {
		datagram[i] = 'A'
	}
	_, _, err = ring.Verify(datagram)
	fmt.Println(err)
	// Output:
	// kid: BOV6cocs9EdfUXIr-nwZZm6plnxvpFTtxFCkNstAGPM
	// payload: {"v":"2.0","s":"producer.example.org","e":1764000000000,"n":7,"t":1764000012345,"d":"AAEC"}
	// sign: bad signature: kid BOV6cocs9EdfUXIr-nwZZm6plnxvpFTtxFCkNstAGPM
}
