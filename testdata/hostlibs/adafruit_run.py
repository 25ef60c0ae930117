"""Runs the unchanged Adafruit_CircuitPython_ESP_ATcontrol library (vendored
in adafruit_espatcontrol/) against an ESP-AT device on a serial path, doing
what its examples do: begin(), scan_APs(), connect(secrets), version,
local_ip, ping, and a TCP socket round trip. Prints one line per step and
exits 0 only when every step asked for succeeds.

Environment: ATBRIDGE_UART (the device's path), ESP_SSID, ESP_PASSWORD,
ESP_ECHO ("host:port" of a TCP echo server), ESP_STEPS (comma-separated
steps to run; default all), ESP_PING (the host to ping).
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(here, "circuitpython_shim"), os.path.join(here, "adafruit_espatcontrol")]

import busio  # noqa: E402
from adafruit_espatcontrol import adafruit_espatcontrol  # noqa: E402

steps = os.environ.get("ESP_STEPS", "begin,scan,connect,ping,socket").split(",")
uart = busio.UART(None, None, timeout=0.1)
esp = adafruit_espatcontrol.ESP_ATcontrol(uart, 115200, debug=bool(os.environ.get("ESP_DEBUG")))


def step(name, fn):
    if name not in steps:
        return
    try:
        got = fn()
    except Exception as e:  # the library raises RuntimeError, OKError, ValueError
        print("FAIL", name, type(e).__name__, e)
        sys.exit(1)
    print("OK", name, got)


step("begin", esp.begin)
step("scan", lambda: [ap[1] for ap in esp.scan_APs()])
secrets = {"ssid": os.environ.get("ESP_SSID", ""), "password": os.environ.get("ESP_PASSWORD", "")}
step("connect", lambda: (esp.connect(secrets), esp.version, esp.local_ip)[1:])
step("ping", lambda: esp.ping(os.environ.get("ESP_PING", "127.0.0.1")))


def socket_round_trip():
    host, port = os.environ["ESP_ECHO"].rsplit(":", 1)
    if not esp.socket_connect(esp.TYPE_TCP, host, int(port)):
        raise RuntimeError("socket_connect failed")
    esp.socket_send(b"hello from the unchanged library\r\nOK\r\n")
    got = esp.socket_receive(timeout=3)
    esp.socket_disconnect()
    if bytes(got) != b"hello from the unchanged library\r\nOK\r\n":
        raise RuntimeError("echo came back as %r" % bytes(got))
    return bytes(got)


step("socket", socket_round_trip)
print("ALL OK")
