"""The lab's jump host: an SSH ProxyCommand that connects from inside a namespace.

The lab's management subnets live only inside the lab: its jump namespace (`<prefix>-jump`)
holds each subnet's gateway address on a link into the management switch, like an
operator's bastion host, and nothing is routed from this machine's own network. An SSH
client on this machine reaches a server with

    ssh -o ProxyCommand='python -m wanka.lab.jump <prefix>-jump %h %p' root@10.90.0.2

(access.json gives the whole option): this program enters the jump namespace (setns on
/run/netns/<name>; root), connects to HOST:PORT there, and relays the connection to its
stdin and stdout. So two labs with the same addresses can run side by side, and a lab never
shadows a network this machine really uses.
"""

from __future__ import annotations

import ctypes
import os
import selectors
import socket
import sys

CLONE_NEWNET = 0x40000000
BUFSIZE = 65536


def setns(fd: int, what: str = "") -> None:
    """Move this thread into the network namespace open as `fd`."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns {what or fd}: {os.strerror(err)}")


def enter(namespace: str) -> None:
    fd = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
    try:
        setns(fd, namespace)
    finally:
        os.close(fd)


def relay(sock: socket.socket, stdin: int, stdout: int) -> None:
    """Copy stdin -> sock and sock -> stdout until both directions are closed."""
    sel = selectors.DefaultSelector()
    sel.register(stdin, selectors.EVENT_READ, "in")
    sel.register(sock, selectors.EVENT_READ, "sock")
    open_ends = 2
    while open_ends:
        for key, _ in sel.select():
            if key.data == "in":
                data = os.read(stdin, BUFSIZE)
                if data:
                    sock.sendall(data)
                else:
                    sel.unregister(stdin)
                    sock.shutdown(socket.SHUT_WR)
                    open_ends -= 1
            else:
                data = sock.recv(BUFSIZE)
                if data:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(stdout, view) :]
                else:
                    sel.unregister(sock)
                    open_ends -= 1
                    return  # the server closed: ssh sees the end of the stream


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or not args[2].isdigit():
        print("usage: python -m wanka.lab.jump NAMESPACE HOST PORT", file=sys.stderr)
        return 2
    namespace, host, port = args[0], args[1], int(args[2])
    try:
        enter(namespace)
        sock = socket.create_connection((host, port), timeout=10)
    except OSError as e:
        print(f"wanka lab jump: {host}:{port} via {namespace}: {e.strerror or e}", file=sys.stderr)
        return 1
    sock.settimeout(None)
    with sock:
        relay(sock, sys.stdin.fileno(), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
