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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass(slots=True)
class Answer:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class RawHit:
    path: str
    headers: dict[str, str]


class RawWire:
    def __init__(self) -> None:
        self.routes: dict[str, list[Answer]] = {}
        self.hits: list[RawHit] = []
        self.lock = threading.Lock()
        wire = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                wire._answer(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, path: str, body: bytes | str | list[Answer], status: int = 200,
              headers: dict[str, str] | None = None) -> None:
        answers = body if isinstance(body, list) else [
            Answer(body.encode() if isinstance(body, str) else body, status, dict(headers or {}))]
        with self.lock:
            self.routes[path] = list(answers)

    def hits_for(self, path: str) -> list[RawHit]:
        with self.lock:
            return [h for h in self.hits if urlsplit(h.path).path == path]

    def _answer(self, req: BaseHTTPRequestHandler) -> None:
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

    def start(self) -> RawWire:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="raw-wire", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> RawWire:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
