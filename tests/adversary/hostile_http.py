"""A hostile HTTP server on 127.0.0.1 for the adversary tests: each path answers with whatever the
test scripted (status, headers, raw body bytes), and every request is counted with its time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from deskapp.demo.loopback import LoopbackServer
from deskapp.demo.tme import FakeChannel, render_page


@dataclass(slots=True)
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class HostileServer(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        self.routes: dict[str, Answer | Callable[[], Answer]] = {}
        self.hits: list[tuple[float, str]] = []
        self.lock = threading.Lock()

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        path = urlsplit(req.path).path
        with self.lock:
            self.hits.append((time.monotonic(), path))
            route = self.routes.get(path)
        answer = route() if callable(route) else route
        if answer is None:
            answer = Answer(404, {}, b"not here")
        req.send_response(answer.status)
        headers = {"Content-Type": "text/html; charset=utf-8", **answer.headers}
        headers.setdefault("Content-Length", str(len(answer.body)))
        for k, v in headers.items():
            req.send_header(k, v)
        req.end_headers()
        try:
            req.wfile.write(answer.body)
        except OSError:
            pass  # the client hung up on a body it refused

    def channel(self, ch: FakeChannel) -> None:
        """Serve a normal preview page for `ch` at /s/<handle>."""
        self.routes[f"/s/{ch.handle}"] = Answer(body=render_page(ch, ch.posts).encode())

    def hits_for(self, path: str) -> list[float]:
        with self.lock:
            return [t for t, p in self.hits if p == path]
