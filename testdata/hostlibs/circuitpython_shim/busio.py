"""busio.UART for CPython over a serial device path (a pty from atbridge).

Ours, not CircuitPython's: just what adafruit_espatcontrol calls on a UART
(baudrate, in_waiting, read, write, reset_input_buffer), with CircuitPython's
semantics: read(n) returns what arrives within `timeout` seconds (or None),
in_waiting counts the bytes buffered by the driver.
"""

import fcntl
import os
import select
import struct
import termios
import time
import tty

_SPEEDS = {b: getattr(termios, "B%d" % b) for b in (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600) if hasattr(termios, "B%d" % b)}


class UART:
    def __init__(self, tx=None, rx=None, *, baudrate=115200, timeout=1.0, receiver_buffer_size=64, path=None):
        self._path = path or os.environ["ATBRIDGE_UART"]
        self._fd = os.open(self._path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self._fd)
        self.timeout = timeout
        self._baud = baudrate
        self.baudrate = baudrate

    @property
    def baudrate(self):
        return self._baud

    @baudrate.setter
    def baudrate(self, baud):
        self._baud = baud
        attrs = termios.tcgetattr(self._fd)
        speed = _SPEEDS.get(baud)
        if speed is not None:
            attrs[4] = attrs[5] = speed
            termios.tcsetattr(self._fd, termios.TCSANOW, attrs)

    @property
    def in_waiting(self):
        n = fcntl.ioctl(self._fd, termios.FIONREAD, struct.pack("i", 0))
        return struct.unpack("i", n)[0]

    def read(self, nbytes=None):
        out = b""
        deadline = time.monotonic() + self.timeout
        while nbytes is None or len(out) < nbytes:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([self._fd], [], [], left)
            if not r:
                break
            chunk = os.read(self._fd, (nbytes - len(out)) if nbytes else 4096)
            if not chunk:
                break
            out += chunk
        return out or None

    def write(self, buf):
        buf = bytes(buf)
        done = 0
        while done < len(buf):
            done += os.write(self._fd, buf[done:])
        return done

    def reset_input_buffer(self):
        termios.tcflush(self._fd, termios.TCIFLUSH)

    def deinit(self):
        os.close(self._fd)
