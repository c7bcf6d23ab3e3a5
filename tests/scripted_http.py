"""A scripted HTTP server on 127.0.0.1 for tests that need answers no honest server gives: forged
pages, redirects anywhere, compression bombs, absurd Retry-After or ETag headers.

`route(path, body, status=200, headers={})` sets what a path answers: exactly those bytes and
headers (Content-Type defaults to HTML, Content-Length to the body's length unless the test gives
one). The query string counts: "/s/x?before=5" is its own route; without one, the path's answer
serves every query. A route may also be a list of answers, served in turn (the last one repeats).
`channel(ch)` serves a channel's ordinary preview page at /s/<handle>.

Every request is kept in `hits` with its time and headers, so tests can check what the client sent
back (If-None-Match) and when (politeness, one poller at a time).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from deskapp.demo.loopback import LoopbackServer
from deskapp.demo.tme import FakeChannel, render_page


@dataclass(slots=True)
class Answer:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Hit:
    path: str  # with its query string
    headers: dict[str, str]
    at: float  # time.monotonic() when the request arrived


class ScriptedServer(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        self.routes: dict[str, list[Answer]] = {}
        self.hits: list[Hit] = []
        self._lock = threading.Lock()

    def route(self, path: str, body: bytes | str | list[Answer], status: int = 200,
              headers: dict[str, str] | None = None) -> None:
        answers = body if isinstance(body, list) else [
            Answer(body.encode() if isinstance(body, str) else body, status, dict(headers or {}))]
        with self._lock:
            self.routes[path] = list(answers)

    def channel(self, ch: FakeChannel) -> None:
        """Serve an ordinary preview page of `ch` at /s/<handle>."""
        self.route(f"/s/{ch.handle}", render_page(ch, ch.posts))

    def hits_for(self, path: str) -> list[Hit]:
        """The requests for `path`, whatever their query string."""
        with self._lock:
            return [h for h in self.hits if urlsplit(h.path).path == path]

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.hits.append(Hit(req.path, dict(req.headers.items()), time.monotonic()))
            queue = self.routes.get(req.path) or self.routes.get(urlsplit(req.path).path)
            answer = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else Answer(b"not here", 404)
        req.send_response(answer.status)
        headers = {"Content-Type": "text/html; charset=utf-8", **answer.headers}
        headers.setdefault("Content-Length", str(len(answer.body)))
        for name, value in headers.items():
            req.send_header(name, value)  # encoded as latin-1 by http.server: 8-bit values pass
        req.end_headers()
        try:
            req.wfile.write(answer.body)
        except OSError:
            pass  # the client hung up on a body it refused (a bomb, a page past the cap)
