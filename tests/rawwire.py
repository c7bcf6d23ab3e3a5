"""A scripted hostile HTTP server on 127.0.0.1: each path answers exactly the bytes and headers a
test gives it (forged pages, redirects anywhere, headers no honest server sends).

`RawWire.route(path, body, status=200, headers={})` sets the answer of a path (the query string
counts: "/s/x?before=5" is its own route; without one, the path's answer serves every query).
A route may also be a list of answers, served in turn (the last one repeats). Every request is kept
in `hits` with its headers, so tests can check what the client sent back (If-None-Match).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from deskapp.demo.loopback import LoopbackServer


@dataclass(slots=True)
class Answer:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class RawHit:
    path: str
    headers: dict[str, str]


class RawWire(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        self.routes: dict[str, list[Answer]] = {}
        self.hits: list[RawHit] = []
        self.lock = threading.Lock()

    def route(self, path: str, body: bytes | str | list[Answer], status: int = 200,
              headers: dict[str, str] | None = None) -> None:
        answers = body if isinstance(body, list) else [
            Answer(body.encode() if isinstance(body, str) else body, status, dict(headers or {}))]
        with self.lock:
            self.routes[path] = list(answers)

    def hits_for(self, path: str) -> list[RawHit]:
        with self.lock:
            return [h for h in self.hits if urlsplit(h.path).path == path]

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.hits.append(RawHit(req.path, dict(req.headers.items())))
            queue = self.routes.get(req.path) or self.routes.get(urlsplit(req.path).path)
            answer = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else Answer(b"not here", 404)
        req.send_response(answer.status)
        headers = {"Content-Type": "text/html; charset=utf-8", **answer.headers}
        for name, value in headers.items():
            req.send_header(name, value)  # encoded as latin-1 by http.server: 8-bit values pass
        req.send_header("Content-Length", str(len(answer.body)))
        req.end_headers()
        req.wfile.write(answer.body)
