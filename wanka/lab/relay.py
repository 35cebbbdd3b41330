"""A TCP relay from a namespace's loopback to this machine's: the lab's execution nodes
reach the BMC emulator (listening on 127.0.0.1:PORT here) at 127.0.0.1:PORT of their own
namespace, as a real execution node reaches the BMCs on the out-of-band network.

    python -m wanka.lab.relay NAMESPACE PORT PIDFILE

It listens inside NAMESPACE (a socket stays in the namespace it was made in), returns to
its own network namespace, writes its pid into PIDFILE once it listens, and relays every
connection there. Started as a daemon and stopped (by pid) by the lab; runs until then.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading

from wanka.lab.jump import enter, setns

BUFSIZE = 65536


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(BUFSIZE):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
            with contextlib.suppress(OSError):
                s.shutdown(how)


def _serve(client: socket.socket, port: int) -> None:
    with client:
        try:
            upstream = socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError:
            return
        upstream.settimeout(None)
        with upstream:
            back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
            back.start()
            _pump(client, upstream)
            back.join()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or not args[1].isdigit():
        print("usage: python -m wanka.lab.relay NAMESPACE PORT PIDFILE", file=sys.stderr)
        return 2
    namespace, port = args[0], int(args[1])
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        enter(namespace)
        server = socket.create_server(("127.0.0.1", port), backlog=64)
        setns(home)
    except OSError as e:
        print(f"wanka lab relay: {namespace} 127.0.0.1:{port}: {e}", file=sys.stderr)
        return 1
    finally:
        os.close(home)
    with open(args[2] + ".tmp", "w", encoding="utf-8") as f:
        f.write(f"{os.getpid()}\n")
    os.replace(args[2] + ".tmp", args[2])
    with server:
        while True:
            client, _ = server.accept()
            threading.Thread(target=_serve, args=(client, port), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
