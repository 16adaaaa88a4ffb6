"""A fault-injecting HTTP server on a real loopback socket, for robustness tests.

Unlike the friendly `CatalogServer`, it writes raw bytes to the socket, so it can misbehave the
way real networks and routers do: reset the connection, stop halfway through a body, stall
longer than the client's read timeout, lie about the content length.

    with FaultServer() as server:
        server.script(Fault.status(503), Fault.ok(body))
        ...  # point the tracker at server.base_url
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

Action = Callable[[socket.socket], None]


def _response(status: int, body: bytes, headers: dict[str, str] | None = None,
              reason: str = "X") -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}"]
    merged = {"Content-Type": "application/json", "Content-Length": str(len(body)),
              "Connection": "close", **(headers or {})}
    lines += [f"{name}: {value}" for name, value in merged.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass(frozen=True)
class Fault:
    """One scripted reply: a name for test ids, and what to do with the client's socket."""

    name: str
    act: Action

    @staticmethod
    def ok(body: bytes, headers: dict[str, str] | None = None, name: str = "200") -> Fault:
        return Fault(name, lambda s: s.sendall(_response(200, body, headers)))

    @staticmethod
    def status(code: int, body: bytes = b'{"error": {"message": "upstream error"}}',
               headers: dict[str, str] | None = None) -> Fault:
        return Fault(f"{code}", lambda s: s.sendall(_response(code, body, headers)))

    @staticmethod
    def retry_after_seconds(seconds: str = "0") -> Fault:
        return Fault.status(429, b'{"error": {"message": "rate limited"}}',
                            {"Retry-After": seconds})

    @staticmethod
    def retry_after_date() -> Fault:
        when = format_datetime(datetime.now(UTC), usegmt=True)
        return Fault.status(429, b'{"error": {"message": "rate limited"}}',
                            {"Retry-After": when})

    @staticmethod
    def auth(code: int) -> Fault:
        body = (b'{"error": {"message": "Invalid API key provided", "type": '
                b'"authentication_error", "code": "invalid_api_key"}}')
        return Fault.status(code, body)

    @staticmethod
    def truncated(body: bytes) -> Fault:
        """Promise the whole body, send half, close."""
        def act(s: socket.socket) -> None:
            head = _response(200, body)[: -len(body)]
            s.sendall(head + body[: len(body) // 2])
        return Fault("truncated", act)

    @staticmethod
    def slow(body: bytes, stall: float) -> Fault:
        """Headers at once, then silence longer than the client waits."""
        def act(s: socket.socket) -> None:
            head = _response(200, body)[: -len(body)]
            s.sendall(head + body[:10])
            time.sleep(stall)
        return Fault("slow", act)

    @staticmethod
    def trickle(body: bytes, every: float, stop: threading.Event, *,
                headers_too: bool = False) -> Fault:
        """Headers at once (or, `headers_too`, they trickle as well), then one byte every
        `every` seconds: each byte restarts the client's read timeout. Ends when `stop` is
        set (give the test's own Event, set at its end)."""
        def act(s: socket.socket) -> None:
            response = _response(200, body)
            at_once = 0 if headers_too else len(response) - len(body)
            s.sendall(response[:at_once])
            for byte in response[at_once:]:
                if stop.wait(every):
                    return
                s.sendall(bytes([byte]))
        return Fault("trickle", act)

    @staticmethod
    def reset() -> Fault:
        """Close with RST instead of a response."""
        def act(s: socket.socket) -> None:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return Fault("reset", act)

    @staticmethod
    def redirect(location: str) -> Fault:
        return Fault.status(302, b"", {"Location": location})

    @staticmethod
    def gzip(body: bytes) -> Fault:
        return Fault.ok(gzip.compress(body), {"Content-Encoding": "gzip"}, name="gzip")


class FaultServer:
    """Serves scripted faults in order; the last one repeats. Counts requests."""

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._script: list[Fault] = []
        self._last: Fault = Fault.status(404)
        self.requests = 0
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        host, port = self._listener.getsockname()
        return f"http://{host}:{port}/v1"

    def script(self, *faults: Fault) -> None:
        with self._lock:
            self._script.extend(faults)

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        with client:
            client.settimeout(5)
            request = b""
            try:
                while b"\r\n\r\n" not in request:
                    chunk = client.recv(65536)
                    if not chunk:
                        return
                    request += chunk
            except OSError:
                return
            with self._lock:
                self.requests += 1
                fault = self._script.pop(0) if self._script else self._last
                self._last = fault
            with contextlib.suppress(OSError):
                fault.act(client)

    def close(self) -> None:
        self._stopped.set()
        self._listener.close()

    def __enter__(self) -> FaultServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
