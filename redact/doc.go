// Package redact removes secrets from ESP-AT captures so they can be attached
// to bug reports: Wi-Fi passwords, AT+WSHEAD and AT+WSOPEN credentials,
// user:password and tokens in URLs, MQTT and HTTP credentials, certificate
// and key material, and whatever extra patterns the user gives.
//
// A Redactor decodes the serial traffic with at.Decoder, finds secrets
// at the byte positions the decoder identifies (at.SecretRules), and
// overwrites them in the records that carry those bytes, however the
// traffic was cut into chunks. The device's ATE1 echo gets exactly the mask
// of the host bytes it echoes. Every replacement keeps the length of what it
// replaces and the quoting of command lines, so announced payload lengths
// still match and the redacted capture decodes, mocks and replays as the
// original did. Frames and events (URLs, texts) and the header are redacted
// too, using the same rules and every secret learned from the serial
// traffic.
//
// Records come out in the order they went in. Some are held back until the
// decoder has settled their bytes (a command line is settled by its CRLF, an
// echo by the command it echoes, a payload by the device's prompt), so a
// live recorder wrapped in a Writer lags a little behind the traffic; Flush
// and Close release everything. The rules and what is not covered are in
// docs/redaction.md.
//
// It imports capture and the codecs under formats; never bridge, replay
// or analysis.
package redact
