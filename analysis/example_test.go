package analysis_test

import (
	"context"
	"fmt"

	"github.com/atbridge/atbridge/analysis"
)

// The shipped seed session: Wi-Fi join, AT+WSOPEN, one AT+WSSEND and its
// echo, counted per command with latencies and per WebSocket link.
func ExampleReadFile() {
	st, err := analysis.ReadFile(context.Background(), "../testdata/seed-tcp.atcap")
	if err != nil {
		panic(err)
	}
	fmt.Println("records", st.Records, "duration", st.DurationNS)
	for _, c := range st.Commands {
		fmt.Println(c.Name, c.Count, c.Results, c.LatencyMaxNS)
	}
	for _, l := range st.WSFromAT {
		fmt.Printf("link %d: %d to server, %d to client\n", l.Link, l.ToServer, l.ToClient)
	}
	// Output:
	// records 16 duration 6030000000
	// +CWJAP 1 map[OK:1] 3101000000
	// +CWMODE 1 map[OK:1] 2000000
	// +WSOPEN 1 map[OK:1] 150000000
	// +WSSEND 1 map[SEND OK:1] 15000000
	// link 0: 1 to server, 1 to client
}
