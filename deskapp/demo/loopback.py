"""One HTTP server on 127.0.0.1 in a thread: the demo wire and the tests' scripted servers share it.

A subclass answers requests in `_handle(req)`; this class owns the socket, the serving thread and a
clean stop (as a context manager too). A client that hangs up (a poller refusing a body, a killed
desk) is not reported: socketserver would print a traceback for each, into the demo's terminal.
"""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class LoopbackServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms stall

            def log_message(self, *args: object) -> None:  # quiet: tests and the demo UI own the terminal
                pass

            def do_GET(self) -> None:  # noqa: N802
                server._handle(self)

        self._httpd = _Server((host, port), Handler)
        self._thread: threading.Thread | None = None

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
