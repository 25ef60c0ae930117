// Package esp is the software ESP32: an Emulator that answers ESP-AT
// commands on a serial line byte for byte as the firmware does (docs:
// esp-at.md, esp-at-surface.md), with real network behind every command:
// WebSocket (AT+WS*), TCP, UDP and SSL links and servers (AT+CIP*), MQTT
// (AT+MQTT*) and HTTP (AT+HTTP*) to the servers the host app names.
//
// atbridge emulate serves it on a port; atbridge proxy --device emulate runs
// it in-process as the proxy's device, through Options.Emulate, which
// satisfies bridge.DeviceEmulator.
//
// Files: emulator.go (the Emulator, Serve), input.go (the line reader, its
// limits and data modes), basic.go (the command table and basic commands),
// flash.go (the NVS settings kept across boots), power.go (AT+GSLP,
// AT+SLEEP), wifi.go (station and AT+CWJAP), wifi_scan.go (the access
// point list, AT+CWLAP), softap.go, netif.go (addresses, AT+CIFSR),
// sntp.go, ws.go and link.go (AT+WS* and the WebSocket link
// model), wsclient.go (its own RFC 6455 client), tls.go (certificates from
// --pki), tcp.go and tcp_passthrough.go (AT+CIP*), cipstart.go, udp.go,
// sslconf.go and sslpsk.go (link types and TLS settings), sendex.go and
// sendl.go (AT+CIPSENDEX, AT+CIPSENDL), split.go (--split-deliveries),
// recv.go (passive receive), server.go (AT+CIPSERVER), names.go
// (AT+CIPDOMAIN, AT+CIPDNS), ping.go (AT+PING), http.go (AT+HTTP*),
// mqtt.go, mqtt_client.go and mqtt_pubsub.go (AT+MQTT*, a paho.mqtt.golang
// client), record.go (what it records).
//
// Package esp imports capture and formats (the WebSocket codec), the
// standard library, golang.org/x/net (ICMP for AT+PING) and, for MQTT only,
// github.com/eclipse/paho.mqtt.golang. It never imports package bridge (the
// proxy reaches the emulator through bridge.DeviceEmulator) nor opens ports: Serve takes any
// io.ReadWriter, and a bridge/port Port's line settings follow AT+UART_CUR.
package esp
