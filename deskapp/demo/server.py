"""A small HTTP server that serves Telegram-format preview pages on 127.0.0.1.

It backs the demo wire and the tests: channels with pages and `?before=` paging, ETag validators,
channels without a preview (302 to a landing card), and scripted faults (429 with Retry-After, 5xx,
a server that never answers, slow answers, truncated, reset and oversized bodies, cursor loops).
Standard library only, one thread per connection, stops cleanly.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from deskapp.demo.loopback import LoopbackServer
from deskapp.demo.others import Others
from deskapp.demo.tme import FakeChannel, context_window, page_window, render_landing, render_page


@dataclass(slots=True)
class Fault:
    """What the server does instead of (or before) a normal answer.

    kind: "status" (code + optional retry_after), "hang" (sleep `seconds`, then close), "slow" (sleep
    `seconds`, then answer normally), "truncate" (announce more bytes than sent), "reset" (close the
    socket mid-body), "oversize" (a body of `size` bytes), "empty" (a channel page with no posts and no
    notice), "loop" (a page whose cursor points back at itself), "landing" (302 to the landing card),
    "redirect" (302 to `location`).
    """

    kind: str
    code: int = 500
    retry_after: str | None = None
    seconds: float = 0.0
    size: int = 0
    location: str = ""  # for "redirect"


@dataclass(slots=True)
class Hit:
    at: float
    path: str
    headers: dict[str, str]


class SavePageNow:
    """A stand-in for the Wayback Machine's Save Page Now on the same server: `/save/<url>` answers
    with a 302 to `/web/<14-digit UTC stamp>/<url>` (as the real one does when a capture succeeds), or
    with the next queued `Fault`'s status. `saved` lists the URLs asked for, in order."""

    def __init__(self, server: WireServer) -> None:
        self.server = server
        self.saved: list[str] = []
        self.faults: deque[Fault] = deque()
        server.archive = self

    def handle(self, req: BaseHTTPRequestHandler, target: str) -> None:
        with self.server.lock:
            fault = self.faults.popleft() if self.faults else None
            if fault is None:
                self.saved.append(target)
        if fault is not None:
            self.server._apply_fault(req, fault, "")
            return
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
        self.server._send(req, 302, b"", {"Location": f"/web/{stamp}/{target}"})


class WireServer(LoopbackServer):
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, page_size: int = 20):
        super().__init__(host, port)
        self.channels: dict[str, FakeChannel] = {}
        self.no_preview: set[str] = set()
        self.faults: dict[str, deque[Fault]] = {}
        self.hits: list[Hit] = []
        self.page_size = page_size
        self.archive: SavePageNow | None = None  # a Save Page Now stand-in under /save/ and /web/
        self.others = Others()  # RSS feeds, Bluesky and Mastodon accounts (demo/others.py)
        self.lock = threading.RLock()

    # ---- control ---------------------------------------------------------------------------------

    def add(self, channel: FakeChannel) -> None:
        with self.lock:
            self.channels[channel.handle.lower()] = channel

    def fault(self, handle: str, *faults: Fault) -> None:
        """Queue faults for the next requests to a channel's pages (one fault per request)."""
        with self.lock:
            self.faults.setdefault(handle.lower(), deque()).extend(faults)

    def hits_for(self, handle: str) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.path.lower().startswith(f"/s/{handle.lower()}")]

    # ---- serving ---------------------------------------------------------------------------------

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(req.path)
        with self.lock:
            self.hits.append(Hit(time.monotonic(), req.path, dict(req.headers.items())))
        segs = [s for s in parts.path.split("/") if s]
        with self.lock:
            other = self.others.answer(parts.path, parts.query, self.url)
        if other is not None:
            self._send_other(req, *other)
            return
        if segs and segs[0] == "s" and (len(segs) == 2 or (len(segs) == 3 and segs[2].isdigit())):
            handle = segs[1].lower()
            with self.lock:
                queue = self.faults.get(handle)
                fault = queue.popleft() if queue else None
            if fault and self._apply_fault(req, fault, handle):
                return
            around = int(segs[2]) if len(segs) == 3 else None
            self._serve_channel(req, handle, parse_qs(parts.query), around=around)
        elif len(segs) >= 2 and segs[0] == "save" and self.archive is not None:
            self.archive.handle(req, req.path[len("/save/"):])
        elif len(segs) >= 2 and segs[0] == "web" and self.archive is not None:
            self._send(req, 200, b"<html><body>archived copy (stand-in)</body></html>")
        elif len(segs) == 1:
            self._send(req, 200, render_landing(segs[0]).encode())
        else:
            self._send(req, 404, b"<html><body>not found</body></html>")

    def _serve_channel(self, req: BaseHTTPRequestHandler, handle: str, query: dict[str, list[str]],
                       around: int | None = None) -> None:
        with self.lock:
            ch = self.channels.get(handle)
            if ch is None or handle in self.no_preview:
                name = ch.handle if ch else handle
                self._send(req, 302, b"", {"Location": f"/{name}"})
                return
            before = query.get("before", [None])[0]
            before_id = int(before) if before and before.isdigit() else None
            if around is not None:  # the context page /s/<channel>/<id>: the posts around that id
                posts = context_window(ch.posts, around, self.page_size)
            else:
                posts = page_window(ch.posts, before_id, self.page_size)
            body = render_page(ch, posts, rendered=None).encode()
        # The validator depends on the posts only (not on the render time), like a real cache would.
        etag = '"' + hashlib.sha1(repr([(p.id, p.text, p.edited, p.views) for p in posts]).encode()).hexdigest()[:16] + '"'
        if req.headers.get("If-None-Match") == etag:
            self._send(req, 304, b"", {"ETag": etag})
            return
        self._send(req, 200, body, {"ETag": etag})

    def _apply_fault(self, req: BaseHTTPRequestHandler, f: Fault, handle: str) -> bool:
        """True when the fault fully answered the request."""
        if f.kind == "status":
            headers = {"Retry-After": f.retry_after} if f.retry_after is not None else {}
            self._send(req, f.code, f"<html><body>error {f.code}</body></html>".encode(), headers)
            return True
        if f.kind == "hang":
            time.sleep(f.seconds)
            req.close_connection = True
            return True
        if f.kind == "slow":
            time.sleep(f.seconds)
            return False
        if f.kind in ("truncate", "reset"):
            # Announce more than is sent, then hang up: with FIN ("truncate") or RST ("reset").
            req.send_response(200)
            req.send_header("Content-Type", "text/html; charset=utf-8")
            req.send_header("Content-Length", "100000")
            req.end_headers()
            req.wfile.write(b"<!DOCTYPE html><html><head><title>x</title></head><body>" + b"x" * 2000)
            req.wfile.flush()
            if f.kind == "reset":
                try:  # SO_LINGER with a zero timeout makes close() send RST
                    req.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                              b"\x01\x00\x00\x00\x00\x00\x00\x00")
                except OSError:
                    pass
            req.close_connection = True
            return True
        if f.kind == "oversize":
            chunk = b"<p>" + b"z" * 8189 + b"</p>"
            req.send_response(200)
            req.send_header("Content-Type", "text/html; charset=utf-8")
            req.send_header("Transfer-Encoding", "chunked")
            req.end_headers()
            sent = 0
            try:
                while sent < f.size:
                    req.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    sent += len(chunk)
                req.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass  # the client hung up at its cap, as it should
            req.close_connection = True
            return True
        if f.kind == "empty":
            with self.lock:
                ch = self.channels[handle]
                body = render_page(ch, []).replace(
                    '<div class="tme_no_messages_found">No posts found</div>', "").encode()
            self._send(req, 200, body)
            return True
        if f.kind == "loop":
            with self.lock:
                ch = self.channels[handle]
                posts = page_window(ch.posts, None, self.page_size)
                body = render_page(ch, posts)
                newest = posts[-1].id if posts else 1
                oldest = posts[0].id if posts else 1
                # rel=prev and the more-link point at a cursor newer than the page: following it loops.
                body = body.replace(f"before={oldest}", f"before={newest + 1}").replace(
                    f'data-before="{oldest}"', f'data-before="{newest + 1}"')
            self._send(req, 200, body.encode())
            return True
        if f.kind == "redirect":
            self._send(req, 302, b"", {"Location": f.location})
            return True
        if f.kind == "landing":
            self._send(req, 302, b"", {"Location": f"/{handle}"})
            return True
        return False

    def _send_other(self, req: BaseHTTPRequestHandler, code: int, body: bytes, headers: dict[str, str]) -> None:
        """An RSS/Bluesky/Mastodon answer, with an ETag over the body and 304 when it matches."""
        if code == 200:
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            headers = {**headers, "ETag": etag}
            if req.headers.get("If-None-Match") == etag:
                self._send(req, 304, b"", {"ETag": etag})
                return
        self._send(req, code, body, headers)

    @staticmethod
    def _send(req: BaseHTTPRequestHandler, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            headers = dict(headers or {})
            req.send_response(code)
            req.send_header("Content-Type", headers.pop("Content-Type", "text/html; charset=utf-8"))
            req.send_header("Content-Length", str(len(body)))
            for k, v in headers.items():
                req.send_header(k, v)
            req.end_headers()
            if body:
                req.wfile.write(body)
        except OSError:
            pass  # the client went away (it timed out or hit its cap)
