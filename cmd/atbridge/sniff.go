package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/atbridge/atbridge/bridge"
)

func init() {
	register(&command{
		name:    "sniff",
		summary: "Record a host <-> ESP32 UART passively through two receive-only adapters (Y-cable); nothing is ever sent",
		usage:   "atbridge sniff --host-rx PORT --device-rx PORT -w FILE.atcap [flags]",
		examples: `  # adapter 0's RX on the host's TX line, adapter 1's RX on the ESP32's TX line
  atbridge sniff --host-rx /dev/ttyUSB0 --device-rx /dev/ttyUSB1 --baud 115200 -w bench.atcap

  # a 921600 bench, watched live in Wireshark while it records
  atbridge sniff --host-rx /dev/ttyUSB0 --device-rx /dev/ttyUSB1 --baud 921600 -w bench.atcap --pcapng - | wireshark -k -i -

  # the bench followed from another machine's browser (the printed URL carries its token)
  atbridge sniff --host-rx /dev/ttyUSB0 --device-rx /dev/ttyUSB1 -w bench.atcap --http 0.0.0.0:8080

  # an overnight soak: only the 10 minutes before each ERROR or reset, and 30 s after
  atbridge sniff --host-rx /dev/ttyUSB0 --device-rx /dev/ttyUSB1 -w soak.atcap --ring 10m --trigger error --trigger reset --after 30s

  # a third adapter on the ESP32's log UART (UART0 TX) at 115200, while the AT UART runs at 921600
  atbridge sniff --host-rx /dev/ttyUSB0 --device-rx /dev/ttyUSB1 --baud 921600 --log-port /dev/ttyUSB2 -w bench.atcap

Both adapters follow an AT+UART_CUR the device answers OK, as the ESP32 and its host do.`,
		setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) int {
			var hostRx, devRx string
			var line lineFlags
			var rec recordFlags
			fs.StringVar(&hostRx, "host-rx", "", "the adapter that hears the host's TX line (recorded as host -> device)")
			fs.StringVar(&devRx, "device-rx", "", "the adapter that hears the ESP32's TX line (recorded as device -> host)")
			line.register(fs, "both adapters", "an AT+UART_CUR the device answers OK changes it later")
			rec.register(fs, "sniff")
			return func(ctx context.Context, e *env, args []string) int {
				if len(args) > 0 {
					fmt.Fprintf(e.stderr, "atbridge sniff: unexpected argument %q\n", args[0])
					return exitFailure
				}
				if hostRx == "" || devRx == "" {
					fmt.Fprintf(e.stderr, "atbridge sniff: give both --host-rx and --device-rx\n")
					return exitFailure
				}
				l, err := line.settings()
				if err != nil {
					fmt.Fprintf(e.stderr, "atbridge sniff: %v\n", err)
					return exitFailure
				}
				opts := &bridge.ProxyOptions{Host: hostRx, Device: devRx, Line: l, Sniff: true}
				rec.meta = map[string]string{tapOrderMeta: fmt.Sprint(int64(tapOrderError))}
				return runRecording(ctx, e, "sniff", opts, &rec, l)
			}
		},
	})
}
