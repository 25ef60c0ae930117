#!/usr/bin/python3
"""A minimal host app, as a product's firmware would drive an ESP32: it opens
the serial link (argv[1]) at 115200 8N1 raw, runs the seed's ws:// scenario
against argv[2] and exits 0 when every answer matched, 1 otherwise. Only the
standard library is used (termios), so it runs on Debian's python3."""
import os
import select
import sys
import termios
import time

link, uri = sys.argv[1], sys.argv[2]
fd = os.open(link, os.O_RDWR | os.O_NOCTTY)
attr = termios.tcgetattr(fd)
attr[0] = 0  # iflag
attr[1] = 0  # oflag
attr[2] = termios.CS8 | termios.CREAD | termios.CLOCAL
attr[3] = 0  # lflag: raw, no echo
attr[4] = attr[5] = termios.B115200
termios.tcsetattr(fd, termios.TCSANOW, attr)

buf = b""


def expect(want, timeout=10.0):
    global buf
    end = time.time() + timeout
    while want not in buf:
        left = end - time.time()
        if left <= 0:
            sys.stderr.write("timeout waiting for %r; got %r\n" % (want, buf))
            sys.exit(1)
        r, _, _ = select.select([fd], [], [], left)
        if r:
            buf += os.read(fd, 4096)
    buf = buf[buf.index(want) + len(want):]


def expect_all(*wants, timeout=10.0):
    """Waits until every piece has arrived, in any order (the firmware may
    print +WS_DATA before or after SEND OK), then forgets the buffer."""
    global buf
    end = time.time() + timeout
    while not all(w in buf for w in wants):
        left = end - time.time()
        if left <= 0:
            sys.stderr.write("timeout waiting for %r; got %r\n" % (wants, buf))
            sys.exit(1)
        r, _, _ = select.select([fd], [], [], left)
        if r:
            buf += os.read(fd, 4096)
    buf = b""


def cmd(line, want):
    os.write(fd, line + b"\r\n")
    expect(line + b"\r\n" + want)


expect(b"\r\nready\r\n")
cmd(b"AT", b"\r\nOK\r\n")
cmd(b"AT+CWMODE=1", b"\r\nOK\r\n")
cmd(b'AT+CWJAP="espressif","1234567890"', b"WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n")
cmd(b'AT+WSOPEN=0,"' + uri.encode() + b'"', b"+WS_CONNECTED:0\r\n\r\nOK\r\n")
cmd(b"AT+WSSEND=0,4", b"\r\nOK\r\n\r\n>")
os.write(fd, b"test")
# A host app sends the next command only after the final result: a command
# typed while AT+WSSEND still runs is answered busy p... and dropped.
expect_all(b"\r\nSEND OK\r\n", b"+WS_DATA:0,4,test\r\n")
cmd(b"AT+WSCLOSE=0", b"\r\nOK\r\n")
print("host app: all answers matched")
