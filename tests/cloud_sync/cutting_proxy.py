"""A TCP proxy on loopback that cuts connections at random byte counts, in either direction.

Between the edge client and the cloud server it plays a basement's signal. Every connection dies
sooner or later, half of them after a random number of request bytes (mid-body: the server never
acts), half after a random number of reply bytes (after the server acted: the client cannot know it
did). Each cut resets
both sockets (SO_LINGER 0), as a lost link does.
"""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import threading
from dataclasses import dataclass, field


@dataclass
class CutCounts:
    requests: int = 0
    replies: int = 0
    connections: int = 0


@dataclass
class CuttingProxy:
    upstream_port: int
    seed: int
    request_bytes: int = 800_000
    """A connection's request stream is cut somewhere in its first this many bytes (about 3 chunks)."""
    reply_bytes: int = 3_000
    """... or its reply stream in its first this many (a reply is about 200 bytes)."""
    port: int = 0
    counts: CutCounts = field(default_factory=CutCounts)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._closed = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.counts.connections += 1
                # Each connection is doomed one way or the other, half and half.
                never = 1 << 62
                mid_request = self._rng.random() < 0.5
                cut_request = self._rng.randrange(1, self.request_bytes) if mid_request else never
                cut_reply = never if mid_request else self._rng.randrange(1, self.reply_bytes)
            try:
                server = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                _reset(client)
                continue
            pair = (client, server)
            threading.Thread(
                target=self._pump, args=(client, server, cut_request, "requests", pair), daemon=True
            ).start()
            threading.Thread(target=self._pump, args=(server, client, cut_reply, "replies", pair), daemon=True).start()

    def _pump(
        self, src: socket.socket, dst: socket.socket, cut_at: int, kind: str, pair: tuple[socket.socket, ...]
    ) -> None:
        sent = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:  # one side hung up: the connection is over, close both ends
                    for s in pair:
                        with contextlib.suppress(OSError):
                            s.shutdown(socket.SHUT_RDWR)
                        s.close()
                    return
                if sent + len(data) >= cut_at:
                    dst.sendall(data[: cut_at - sent])
                    with self._lock:
                        setattr(self.counts, kind, getattr(self.counts, kind) + 1)
                    for s in pair:
                        _reset(s)
                    return
                dst.sendall(data)
                sent += len(data)
        except OSError:
            for s in pair:
                _reset(s)


def _reset(s: socket.socket) -> None:
    """Abort the connection with a reset. ``shutdown(SHUT_RD)`` first wakes the other pump's blocked
    ``recv`` on this socket; until it lets go, ``close`` would not reach the kernel and no reset be sent."""
    for step in (
        lambda: s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)),
        lambda: s.shutdown(socket.SHUT_RD),
        s.close,
    ):
        with contextlib.suppress(OSError):
            step()
