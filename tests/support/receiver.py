"""A loopback receiver for notifications: stands in for Slack & co. Apprise's JSON notification
(`json://127.0.0.1:PORT/path`) posts `{"title", "message", "type", ...}` to it.

    url = receiver.url("/hook")          # put it in [[notify]] or TRACKER_NOTIFY_URLS
    receiver.fail("/hook", 500)          # the next POST to /hook gets a 500
    [message] = receiver.messages("/hook")
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """Collects the POSTs Apprise makes; `fail(path, ...)` scripts error statuses."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self._statuses: dict[str, list[int]] = {}
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"{}")
                with outer._lock:
                    outer.posts.append((self.path, payload))
                    queue = outer._statuses.get(self.path)
                    status = queue.pop(0) if queue else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()

    def url(self, path: str) -> str:
        return f"json://127.0.0.1:{self._server.server_address[1]}{path}"

    def fail(self, path: str, *statuses: int) -> None:
        self._statuses.setdefault(path, []).extend(statuses)

    def messages(self, path: str) -> list[dict[str, Any]]:
        return [payload for where, payload in self.posts if where == path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
