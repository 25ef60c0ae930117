#!/usr/bin/python3
"""WebSocket echo server on python3-websockets, for the emulator's tests.

Listens on 127.0.0.1 on a free port and prints its URL on the first line of
stdout. Every message comes back with its type. With --cert/--key it speaks
TLS; with --client-ca it also requires a client certificate signed by that CA.
"""
import argparse
import asyncio
import ssl
import sys

import websockets


async def echo(ws, path=None):
    try:
        async for msg in ws:
            await ws.send(msg)
    except websockets.exceptions.ConnectionClosed:
        pass


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--client-ca")
    a = ap.parse_args()
    ctx = None
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        if a.client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(a.client_ca)
    async with websockets.serve(echo, "127.0.0.1", 0, ssl=ctx, max_size=None, ping_interval=None) as server:
        port = server.sockets[0].getsockname()[1]
        scheme = "wss" if ctx else "ws"
        print(f"{scheme}://127.0.0.1:{port}", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
