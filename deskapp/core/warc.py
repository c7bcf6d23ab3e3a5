"""The evidence file: a gzipped WARC of every capture and re-check of some posts, plus a JSON manifest.

Records, post by post and check by check (hops in the order they were made): for each HTTP exchange a `request` record and the
`response` record it was answered with (WARC-Concurrent-To links them; the response carries the raw
body as received, so its payload digest is the body's SHA-256 kept in the store), then one `resource`
record `urn:desk:manifest` (application/json) naming each post's permalink, its checks and snapshots,
the times and the hashes. An exchange that got no answer (connection refused, timeout) has no
records; the manifest says why. The archive's answers to `desk archive` are written the same way.
Written with warcio; `warcio check` and `warcio index` read it.

One change is made to stored headers: a response that came chunked is written with its body
de-chunked, so `Transfer-Encoding` is replaced by the real `Content-Length` (and the original kept as
`X-Desk-Original-Transfer-Encoding`), or replay tools would try to de-chunk it again.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from deskapp.core.archive import snapshots_of
from deskapp.core.cite import permalink
from deskapp.core.evidence import EvidenceLog, Exchange
from deskapp.core.model import StoredPost, utc_iso
from deskapp.core.store import Store

__all__ = ["write_evidence", "EvidenceSummary", "MANIFEST_URI"]

MANIFEST_URI = "urn:desk:manifest"


@dataclass(slots=True)
class EvidenceSummary:
    posts: int
    checks: int
    exchanges: int  # exchanges written as request/response pairs
    unanswered: int  # exchanges without an answer (in the manifest only)
    path: Path


def _warc_date(ts: datetime) -> str:
    return utc_iso(ts)  # WARC-Date is W3C-ISO8601 in UTC: the store's own form


def _sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def _request_line(ex: Exchange) -> str:
    parts = urlsplit(ex.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return f"GET {target} {ex.http_version or 'HTTP/1.1'}"


def _response_headers(ex: Exchange) -> list[tuple[str, str]]:
    headers = list(ex.headers)
    if any(k.lower() == "transfer-encoding" for k, _ in headers):
        kept = [(k, v) for k, v in headers if k.lower() not in ("transfer-encoding", "content-length")]
        original = [v for k, v in headers if k.lower() == "transfer-encoding"]
        headers = [*kept, ("Content-Length", str(len(ex.body))),
                   *(("X-Desk-Original-Transfer-Encoding", v) for v in original)]
    return headers


def _write_exchange(writer: WARCWriter, ex: Exchange) -> dict[str, str]:
    date = _warc_date(ex.requested)
    http = StatusAndHeaders(f"{ex.status} {ex.reason}".rstrip(), _response_headers(ex),
                            protocol=ex.http_version or "HTTP/1.1")
    resp = writer.create_warc_record(ex.url, "response", payload=io.BytesIO(ex.body), length=len(ex.body),
                                     http_headers=http, warc_headers_dict={"WARC-Date": date})
    req_http = StatusAndHeaders(_request_line(ex), list(ex.request_headers), is_http_request=True)
    resp_id = resp.rec_headers.get_header("WARC-Record-ID")
    req = writer.create_warc_record(ex.url, "request", payload=io.BytesIO(b""), length=0, http_headers=req_http,
                                    warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": resp_id})
    writer.write_record(req)
    writer.write_record(resp)
    return {"request_record": req.rec_headers.get_header("WARC-Record-ID"), "response_record": resp_id}


def _exchange_json(ex: Exchange, records: dict[str, str] | None) -> dict[str, Any]:
    return {
        "url": ex.url,
        "requested": ex.requested.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "status": ex.status,
        "body_bytes": len(ex.body) if ex.status is not None else None,
        "body_sha256": ex.sha256 if ex.status is not None else None,
        "payload_digest": _sha1_b32(ex.body) if ex.status is not None else None,
        "error": ex.error,
        **(records or {}),
    }


def write_evidence(store: Store, posts: Sequence[StoredPost], path: Path, *,
                   now: datetime | None = None) -> EvidenceSummary:
    """Write the evidence file of `posts` to `path` (atomically: a temp file renamed into place)."""
    log = EvidenceLog(store)
    now = now or datetime.now(UTC)
    manifest: dict[str, Any] = {"tool": "desk", "generated": utc_iso(now), "posts": []}
    written: dict[int, dict[str, str] | None] = {}  # fetch id -> its records (None: no answer)
    exchanges = unanswered = checks_n = 0
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            writer = WARCWriter(fh, gzip=True)
            writer.write_record(writer.create_warcinfo_record(path.name, {
                "software": "desk (deskapp)", "format": "WARC File Format 1.0",
                "description": "captures and re-checks of cited posts; manifest at " + MANIFEST_URI}))
            seen_posts: set[tuple[str, int]] = set()
            for sp in posts:
                key = (sp.post.source, sp.post.id)
                if key in seen_posts:
                    continue
                seen_posts.add(key)
                entry: dict[str, Any] = {
                    "post": f"{sp.post.source}/{sp.post.id}",
                    "permalink": permalink(sp.post),
                    "published": utc_iso(sp.post.published),
                    "stored_text_sha256": sp.text_sha256,
                    "checks": [],
                    "snapshots": [s.to_json() for s in snapshots_of(store, *key)],
                }
                def hops(fetch_id: int | None) -> list[dict[str, Any]]:
                    nonlocal exchanges, unanswered
                    out = []
                    for ex in log.chain(fetch_id) if fetch_id is not None else []:
                        assert ex.id is not None
                        if ex.id not in written:
                            if ex.status is None:
                                written[ex.id] = None
                                unanswered += 1
                            else:
                                written[ex.id] = _write_exchange(writer, ex)
                                exchanges += 1
                        out.append(_exchange_json(ex, written[ex.id]))
                    return out

                for check in log.checks_of(*key):
                    checks_n += 1
                    entry["checks"].append({**check.to_json(), "exchanges": hops(check.fetch_id)})
                for snap, item in zip(snapshots_of(store, *key), entry["snapshots"], strict=True):
                    item["exchanges"] = hops(snap.fetch_id)
                manifest["posts"].append(entry)
            data = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
            writer.write_record(writer.create_warc_record(
                MANIFEST_URI, "resource", payload=io.BytesIO(data), length=len(data),
                warc_content_type="application/json", warc_headers_dict={"WARC-Date": _warc_date(now)}))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return EvidenceSummary(posts=len(manifest["posts"]), checks=checks_n, exchanges=exchanges,
                           unanswered=unanswered, path=path)
