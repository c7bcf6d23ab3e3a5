"""A hostile HTTP server on 127.0.0.1 for the adversary tests: each path answers with whatever the
test scripted (status, headers, raw body bytes), and every request is counted with its time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from deskapp.demo.tme import FakeChannel, render_page


@dataclass(slots=True)
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class HostileServer:
    def __init__(self) -> None:
        self.routes: dict[str, Answer | Callable[[], Answer]] = {}
        self.hits: list[tuple[float, str]] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                path = urlsplit(self.path).path
                with server.lock:
                    server.hits.append((time.monotonic(), path))
                    route = server.routes.get(path)
                answer = route() if callable(route) else route
                if answer is None:
                    answer = Answer(404, {}, b"not here")
                self.send_response(answer.status)
                headers = {"Content-Type": "text/html; charset=utf-8", **answer.headers}
                headers.setdefault("Content-Length", str(len(answer.body)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(answer.body)
                except OSError:
                    pass  # the client hung up on a body it refused

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def channel(self, ch: FakeChannel) -> None:
        """Serve a normal preview page for `ch` at /s/<handle>."""
        self.routes[f"/s/{ch.handle}"] = Answer(body=render_page(ch, ch.posts).encode())

    def hits_for(self, path: str) -> list[float]:
        with self.lock:
            return [t for t, p in self.hits if p == path]

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
