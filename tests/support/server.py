"""A loopback catalog server: plays the router on a real socket, with scripted replies.

    server.serve(base_catalog("v1"), Reply(503, b"down"), base_catalog("v2"))
    server.route("/openrouter/api/v1/models", recorded("openrouter-1.json"))
    tracker("fetch")   # AURIKO_BASE_URL is server.base_url
    assert server.requests[0].headers["Authorization"] == f"Bearer {TEST_KEY}"
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (a slow remote)


@dataclass
class SeenRequest:
    path: str
    headers: dict[str, str]


class CatalogServer:
    """Plays the router on a real loopback socket. Replies are scripted: each request takes the
    next queued reply; when the queue is empty the last one repeats."""

    def __init__(self) -> None:
        self._replies: list[Reply] = []
        self._routes: dict[str, list[Reply]] = {}
        self._last = Reply(404, b'{"error": {"message": "nothing scripted"}}')
        self.requests: list[SeenRequest] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with outer._lock:
                    outer.requests.append(SeenRequest(self.path, dict(self.headers.items())))
                    route = outer._routes.get(self.path.split("?")[0])
                    if route is not None:
                        reply = route.pop(0) if len(route) > 1 else route[0]
                    else:
                        reply = outer._replies.pop(0) if outer._replies else outer._last
                        outer._last = reply
                if reply.delay:
                    time.sleep(reply.delay)
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll interval: shutdown() waits for the loop to look (0.5 s by default).
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def serve(self, *replies: Reply | dict[str, Any] | bytes) -> None:
        """Queue replies: a dict is served as a 200 JSON catalog, bytes as a 200 body."""
        with self._lock:
            self._replies.extend(_as_reply(r) for r in replies)

    def route(self, path: str, *replies: Reply | dict[str, Any] | bytes) -> None:
        """Queue replies for one path only (e.g. "/openrouter/models"); the last repeats."""
        with self._lock:
            self._routes.setdefault(path, []).extend(_as_reply(r) for r in replies)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _as_reply(reply: Reply | dict[str, Any] | bytes) -> Reply:
    """A dict is served as a 200 JSON catalog, bytes as a 200 body."""
    if isinstance(reply, dict):
        return Reply(200, json.dumps(reply).encode())
    if isinstance(reply, bytes):
        return Reply(200, reply)
    return reply
