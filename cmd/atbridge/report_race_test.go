//go:build race

package main

// largeReportBytes is the traffic of TestReportLargeInBrowser's capture: the
// race detector slows building the page tenfold, so a smaller one (about
// ten thousand transactions) keeps the package under a minute.
const largeReportBytes, largeReportTxs = 2 << 20, 10000
