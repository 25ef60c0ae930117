//go:build !race

package main

// largeReportBytes is the traffic of TestReportLargeInBrowser's capture:
// about 26,000 transactions.
const largeReportBytes, largeReportTxs = 5 << 20, 20000
