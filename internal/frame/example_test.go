package frame_test

import (
	"fmt"

	"github.com/nordunet/ssmrandom/internal/frame"
)

func ExampleFrame_Append() {
	f := frame.Frame{
		Source: "producer.example.org",
		Epoch:  1764000000000,
		Seq:    7,
		Time:   1764000012345,
		Data:   []byte{0x00, 0x01, 0x02},
	}
	if err := f.Check(); err != nil {
		fmt.Println(err)
		return
	}
	b := f.Append(nil)
	fmt.Printf("%s\n", b)
	fmt.Println(len(b), "bytes, at most", frame.MaxLen(f.Source, len(f.Data)))
	// Output:
	// {"v":"2.0","s":"producer.example.org","e":1764000000000,"n":7,"t":1764000012345,"d":"AAEC"}
	// 91 bytes, at most 102
}

func ExampleParse() {
	f, err := frame.Parse([]byte(`{"v":"2.0","s":"producer.example.org","e":1764000000000,"n":7,"t":1764000012345,"d":"AAEC"}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("source %s, epoch %d, seq %d, time %d, data %x\n", f.Source, f.Epoch, f.Seq, f.Time, f.Data)

	// Anything but the canonical form is refused.
	_, err = frame.Parse([]byte(`{"v":"2.0","s":"producer.example.org","e":1764000000000,"n":07,"t":1764000012345,"d":"AAEC"}`))
	fmt.Println(err)
	_, err = frame.Parse([]byte(`{"v":"1.0"}`))
	fmt.Println(err)
	// Output:
	// source producer.example.org, epoch 1764000000000, seq 7, time 1764000012345, data 000102
	// frame: bad "n": not an integer from 0 to 999999999999
	// frame: bad "v": "1.0" is not "2.0"
}
