"""Citation blocks for the posts a story used: pure functions, no I/O.

`render(posts, options, templates)` turns an ordered list of `StoredPost` into the block that goes
under a story, in one of `FORMATS`:

* ``text`` (default): the newsroom's shape: a heading, one intro sentence, then ``- `` and one line
  a post, each with the channel's name and handle, the canonical permalink and the UTC time;
* ``markdown``: the same, with every data field escaped so a hostile name cannot make a link;
* ``html``: a ``<section>`` fragment, everything escaped, links as anchors;
* ``json``: a list of objects, one a post, with every field whatever the options;
* ``csl-json``: CSL-JSON items of type ``post`` (for reference managers), extra facts under ``custom``.

Decisions worth knowing:

* The permalink of a Telegram post is rebuilt from its channel and id (``https://t.me/<channel>/<id>``)
  so the ``/s/`` form, the ``telegram.me`` host or a ``?single`` suffix never reach a citation. Other
  kinds of source cite their own item URL (``post.url``).
* Every URL (permalink, forward origin, reply target, archive link) passes `sanitize.url_problem`; a
  URL that fails is never emitted: its place in the block shows ``[refused: <reason>]`` and the
  `Citation.refused` list says which post and why.
* "edited": ``StoredPost.revisions > 0`` means we saw the text change after first capture, so the
  cited text may not be what readers saw first: the line says "edited after capture". When we never
  saw a change but the source itself marks the post edited (``Post.edited``: Telegram's "edited"), the
  edit happened before our capture or did not touch the text: the line says "edited at source".
  JSON carries both facts separately.
* The same post given twice (same source and id) appears once, where it first appeared; the
  count of dropped duplicates is `Citation.duplicates`.
* Templates are plain text in every format (HTML escapes them, Markdown escapes them); the bullet
  (``- `` / ``<li>``) and the heading markup belong to the format, not to the template.
* JSON and CSL-JSON ignore the templates and carry every field whatever the options (tools pick
  what they need); the options still set the order and the excerpt length there.
* Names, notes and excerpts are single lines through `sanitize.clean_line`. Identifiers (a channel
  that is no Telegram username, `Refusal.url`) show invisible characters as ``\\uXXXX`` instead of
  dropping them: dropping could turn a hostile name into another, real channel's name.
* A naive datetime is read as UTC (the store writes UTC), never as local time.
"""

from __future__ import annotations

import difflib
import hashlib
import html
import json
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from deskapp.core.model import Post, StoredPost, as_utc, fmt_utc, utc_iso
from deskapp.core.sanitize import clean_line, has_control, has_invisible_or_space, show_invisible, url_problem

__all__ = [
    "FORMATS",
    "ORDERS",
    "LINE_FIELDS",
    "HEAD_FIELDS",
    "CiteOptions",
    "CiteTemplates",
    "CiteOptionError",
    "CiteTemplateError",
    "Refusal",
    "Citation",
    "render",
    "parse_post_ref",
    "permalink",
    "Verification",
    "excerpt",
    "unique_posts",
]

FORMATS: tuple[str, ...] = ("text", "markdown", "html", "json", "csl-json")
ORDERS: tuple[str, ...] = ("editor", "chronological")

# Named fields a line template may use (all are strings; empty when the option is off or the fact
# is unknown, so a custom template never raises at render time).
LINE_FIELDS: dict[str, str] = {
    "n": "position of the post in the block, from 1",
    "who": 'display name and handle, e.g. "Pavel Durov (@durov)"',
    "name": "the channel's display name (or its handle when the page showed no name)",
    "handle": 'the handle as cited, e.g. "@durov" (empty for feeds)',
    "channel": "the channel as the source writes it, e.g. durov",
    "source": 'the store\'s source name, e.g. "telegram:durov"',
    "kind": 'the kind of source, e.g. "telegram"',
    "platform": 'the platform as a reader names it, e.g. "Telegram", "Bluesky", "RSS"',
    "id": "the post id",
    "url": "the canonical permalink (or [refused: reason])",
    "time": 'the publication time, "2026-06-30 18:02 UTC"',
    "published": 'the publication time, "2026-06-30T18:02:11Z"',
    "author": "the signature, when the channel signs posts",
    "excerpt": "option excerpt: the start of the text, quoted",
    "note": "option notes: the editor's pin note",
    "views": 'option views: "11.4M views as of 2026-08-09 12:09 UTC"',
    "edited": 'option edited: "edited after capture" or "edited at source"',
    "forward": "option forwards: the forward origin, with its link",
    "earliest": 'option earliest: "first posted by NAME at TIME, URL" when another post of the same news came first',
    "reply": "option replies: the replied-to post's link",
    "repost": 'a repost or boost shown as the original: "reposted by @x on Bluesky"',
    "quote": "option replies: the quoted post's link",
    "archive": "option archive: the archived copy Save Page Now named (`desk archive`), or \"none yet\"",
    "checked": 'option checked: "checked 2026-08-09 12:09 UTC", and what the last re-check found',
    "sha256": "option sha256: the SHA-256 of the captured text",
    "extras": 'every optional part that applies, each preceded by "; "',
}
# Fields the heading and the intro may use.
HEAD_FIELDS: dict[str, str] = {
    "count": "how many posts the block cites",
    "generated": 'when the block was made, "2026-08-09 12:09 UTC"',
    "date": 'the day the block was made, "2026-08-09"',
}

_DEFAULT_INTRO = (
    "This report draws on the following public posts, each named by its permalink and publication time (UTC):"
)
_EMPTY = "No posts to cite."

# Telegram usernames: letters, digits, underscores (5-32 today; older and auctioned ones are shorter).
_TG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_TG_HOSTS = ("t.me", "www.t.me", "telegram.me", "www.telegram.me", "telegram.dog")
_HEX64 = re.compile(r"[0-9a-f]{64}")
# Kinds whose channels are @handles.
_AT_KINDS = ("telegram", "bluesky", "mastodon")
_KIND_LABEL = {"telegram": "Telegram", "bluesky": "Bluesky", "mastodon": "Mastodon", "rss": "RSS"}
# Longest name/note kept on a line: a hostile 200 KB channel title must not swamp the block.
_MAX_NAME = 200
_MAX_NOTE = 1000


class CiteOptionError(ValueError):
    """An option has a value the renderer does not know. `field` is the config key, e.g. "cite.format"."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class CiteTemplateError(ValueError):
    """A template cannot be used. `field` is the config key ("cite.line"); `name` the bad {field}."""

    def __init__(self, field: str, message: str, name: str | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.name = name


@dataclass(slots=True)
class CiteOptions:
    """What a block carries. The defaults give the newsroom's plain-text shape."""

    fmt: str = "text"  # one of FORMATS
    excerpt: bool = False  # a short excerpt of the text, cut on a word boundary
    excerpt_chars: int = 120  # longest excerpt, the "…" included
    notes: bool = True  # the editor's pin note
    views: bool = False  # the view count and when it was seen
    edited: bool = True  # "edited after capture" / "edited at source"
    forwards: bool = True  # a forwarded post cites its origin too
    archive: bool = False  # the snapshot `desk archive` recorded, or "none yet"
    sha256: bool = False  # the SHA-256 of the captured text
    order: str = "editor"  # "editor" (as given) or "chronological"
    replies: bool = True  # a reply cites the post it answers (extension)
    checked: bool = False  # when the post was last re-checked, and a deletion with the captured hash
    earliest: bool = False  # name the earliest post of the same news beside a later copy (render's `earliest`)

    def validate(self, prefix: str = "cite") -> CiteOptions:
        """Raise `CiteOptionError` naming the key when a value is out of range; return self."""
        if self.fmt not in FORMATS:
            raise CiteOptionError(
                f"{prefix}.format", f"unknown format {self.fmt!r}; known: {', '.join(FORMATS)}"
            )
        if self.order not in ORDERS:
            raise CiteOptionError(
                f"{prefix}.order", f"unknown order {self.order!r}; known: {', '.join(ORDERS)}"
            )
        if (
            not isinstance(self.excerpt_chars, int)
            or isinstance(self.excerpt_chars, bool)
            or not 10 <= self.excerpt_chars <= 10_000
        ):
            raise CiteOptionError(
                f"{prefix}.excerpt_chars",
                f"must be a whole number from 10 to 10000, not {self.excerpt_chars!r}",
            )
        return self


@dataclass(slots=True)
class CiteTemplates:
    """The wording of the block, replaceable in the config.

    `line` is a `str.format` template with named fields only (see `LINE_FIELDS`); `heading` and
    `intro` may use `HEAD_FIELDS`. Literal braces are written ``{{`` and ``}}``. An empty heading
    or intro is left out.
    """

    heading: str = "Wire provenance"
    intro: str = _DEFAULT_INTRO
    line: str = "{who}, {url}, {time}{extras}"

    def validate(self, prefix: str = "cite") -> CiteTemplates:
        """Raise `CiteTemplateError` naming the key and the field when a template is wrong; return self."""
        _check_template(f"{prefix}.heading", self.heading, HEAD_FIELDS)
        _check_template(f"{prefix}.intro", self.intro, HEAD_FIELDS)
        names = _check_template(f"{prefix}.line", self.line, LINE_FIELDS)
        if "url" not in names:
            raise CiteTemplateError(
                f"{prefix}.line",
                "must contain {url}: a line without the post's permalink cannot be traced",
                "url",
            )
        return self


@dataclass(slots=True, frozen=True)
class Verification:
    """What is known of a post beyond the store: its last answered re-check and its archived copy.

    `result` is a re-check result ("unchanged", "edited", "deleted", "channel_gone"); `captured_sha256`
    the SHA-256 of the text its capture read; `snapshot` the address Save Page Now answered with."""

    checked: datetime | None = None
    result: str | None = None
    captured_sha256: str | None = None
    snapshot: str | None = None


@dataclass(slots=True, frozen=True)
class Refusal:
    """A URL that was not emitted. `url` shows invisible and control characters as \\uXXXX escapes,
    so it can be printed safely; it is never a clickable part of the block."""

    url: str
    reason: str
    post: str  # "telegram:durov/519"
    what: str = "permalink"  # permalink | forward | reply | archive


@dataclass(slots=True)
class Citation:
    """A rendered block. `count` is the number of distinct posts cited (refused ones included:
    their line is in the block, with the refusal in place of the link)."""

    text: str
    refused: list[Refusal] = field(default_factory=list)
    count: int = 0
    duplicates: int = 0  # posts given more than once and cited once
    fmt: str = "text"


# --------------------------------------------------------------------------- small public helpers


def _kind(source: str) -> str:
    return source.split(":", 1)[0].lower() if ":" in source else "telegram"


def permalink(post: Post) -> str:
    """The URL a citation uses for `post`.

    Telegram: ``https://t.me/<channel>/<id>`` built from the channel (capitalisation kept) and id,
    whatever form `post.url` has. Other kinds: `post.url` as the source gave it. The result is not
    checked here; `render` refuses it when `sanitize.url_problem` objects.
    """
    if _kind(post.source) == "telegram":
        return f"https://t.me/{post.channel}/{post.id}"
    return post.url


def set_heading(templates: CiteTemplates, heading: str) -> str:
    """Put a heading the editor typed on `templates`. A heading the template language refuses
    ("{x}") is shown as text; the returned line says so ("" when it was fine)."""
    templates.heading = heading
    try:
        templates.validate()
    except CiteTemplateError as exc:
        templates.heading = heading.replace("{", "{{").replace("}", "}}")
        return f"heading: {exc}; shown without its {{fields}}"
    return ""


def excerpt(text: str | None, limit: int = 120) -> str:
    """One line of `text`, at most `limit` characters; cut on a word boundary and ended with "…".

    A text with no space early enough to cut on (a long URL, CJK) is cut hard at the limit.
    """
    text = text or ""
    # Clean only a generous head of a huge post (200 KB costs ~12 ms to clean whole); fall back
    # to the whole text when escapes or blank runs ate that head.
    head = text[: limit * 8 + 1024]
    line = clean_line(head)
    if len(head) < len(text) and len(line) <= limit + 64:
        line = clean_line(text)
    if len(line) <= limit:
        return line
    room = max(1, limit - 1)  # keep a place for the ellipsis
    if line[room] == " ":
        cut = line[:room]  # the limit falls between two words
    else:
        cut = line[:room]
        space = cut.rfind(" ")
        if space >= room // 2:  # do not drop more than half the room to find a word boundary
            cut = cut[:space]
    # No dangling separator, joiner or variation selector before the ellipsis.
    cut = cut.rstrip(" ,;:.-–—\u200d\ufe0f")
    return (cut or line[:room]) + "…"


def _post_key(sp: StoredPost) -> tuple[str, int]:
    return (sp.post.source.lower(), int(sp.post.id))


def unique_posts(posts: Sequence[StoredPost]) -> tuple[list[StoredPost], int]:
    """`posts` without repeats of the same (source, id), first occurrence kept; and how many went."""
    seen: set[tuple[str, int]] = set()
    out: list[StoredPost] = []
    for sp in posts:
        if not isinstance(sp, StoredPost):
            raise TypeError(f"cite.render takes StoredPost items, not {type(sp).__name__}")
        key = _post_key(sp)
        if key in seen:
            continue
        seen.add(key)
        out.append(sp)
    return out, len(posts) - len(out)


# --------------------------------------------------------------------------- post references


_REF_HELP = "give a permalink such as https://t.me/durov/519, or channel/id such as durov/519"


def parse_post_ref(ref: str) -> tuple[str, int]:
    """("telegram:<channel lower>", id) for a post named on the command line.

    Accepted: ``https://t.me/durov/519``, ``https://t.me/s/durov/519``, ``t.me/durov/519``,
    ``telegram.me/...``, ``durov/519``, ``@durov/519`` (query and fragment ignored, e.g. ``?single``),
    and the store's own ``<kind>:<handle>/<id>`` (``telegram:durov/519``, ``rss:bbc/12``).
    Anything else raises ValueError with a message a person can act on.
    """
    if not isinstance(ref, str):
        raise ValueError(f"a post reference must be text, not {type(ref).__name__}")
    raw = ref.strip()
    shown = show_invisible(raw)
    if not raw:
        raise ValueError(f"empty post reference; {_REF_HELP}")
    if has_invisible_or_space(raw):
        raise ValueError(f"{shown!r} contains spaces, control or invisible characters; {_REF_HELP}")

    # The store's own form: kind:handle/id (no "//", so it is not a URL).
    # Ids of other kinds than Telegram take up to 19 digits (63 bits, core/sources/base.py).
    m = re.fullmatch(r"([a-z][a-z0-9_-]*):([^/]+)/(\d{1,19})", raw, flags=re.IGNORECASE)
    if m and not raw.lower().startswith(("http:", "https:")):
        kind, handle, num = m.group(1).lower(), m.group(2), int(m.group(3))
        if kind == "telegram" and not _TG_NAME.fullmatch(handle):
            raise ValueError(f"{shown!r}: {handle!r} is not a Telegram channel name; {_REF_HELP}")
        if num <= 0:
            raise ValueError(f"{shown!r}: post numbers start at 1")
        return f"{kind}:{handle.lower()}", num

    text = raw
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme.lower() not in ("http", "https"):
            raise ValueError(f"{shown!r}: only http(s) links to t.me posts can be named; {_REF_HELP}")
        host = (parts.hostname or "").lower()
        path = parts.path
    else:
        text = text.split("#", 1)[0].split("?", 1)[0]
        head, _, rest = text.partition("/")
        if head.lower() in _TG_HOSTS:
            host, path = head.lower(), "/" + rest
        elif "." in head:
            host, path = head.lower(), "/" + rest  # some other site without a scheme
        else:
            host, path = "t.me", "/" + text
    if host not in _TG_HOSTS:
        raise ValueError(
            f"{shown!r} is not a Telegram post link (host {host or '(none)'!r}); {_REF_HELP}; "
            "other sources are named <kind>:<handle>/<id>"
        )
    segs = [s for s in path.split("/") if s]
    if segs and segs[0] == "s":
        segs = segs[1:]
    if segs and segs[0].startswith("@"):
        segs[0] = segs[0][1:]
    if segs and segs[0] == "c":
        raise ValueError(f"{shown!r} is a private-channel link (t.me/c/...): private posts cannot be cited")
    if len(segs) == 1 and _TG_NAME.fullmatch(segs[0]):
        raise ValueError(
            f"{shown!r} names a channel, not a post; add the post number, e.g. https://t.me/{segs[0]}/519"
        )
    if len(segs) != 2:
        raise ValueError(f"cannot read {shown!r} as a post; {_REF_HELP}")
    channel, num_text = segs
    if not _TG_NAME.fullmatch(channel):
        raise ValueError(f"{shown!r}: {channel!r} is not a Telegram channel name; {_REF_HELP}")
    if not re.fullmatch(r"\d{1,12}", num_text) or int(num_text) <= 0:
        raise ValueError(f"{shown!r}: {num_text!r} is not a post number; {_REF_HELP}")
    return f"telegram:{channel.lower()}", int(num_text)


# --------------------------------------------------------------------------- templates


def _check_template(key: str, template: str, known: dict[str, str]) -> set[str]:
    """The field names `template` uses; CiteTemplateError for anything `render` could not fill."""
    if not isinstance(template, str):
        raise CiteTemplateError(key, f"must be text, not {type(template).__name__}")
    if has_control(template):
        raise CiteTemplateError(key, "must be one line without control characters")
    known_list = ", ".join("{" + k + "}" for k in known)
    names: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:  # "Single '}' encountered", "expected '}' before end of string"
        raise CiteTemplateError(key, f"bad braces ({exc}); write a literal brace as {{{{ or }}}}") from None
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name == "" or name.isdigit():
            raise CiteTemplateError(
                key, f"positional field {{{name}}} is not allowed; use a name; known: {known_list}", name
            )
        if not name.isidentifier():
            # Attribute or index access ({url.__class__}, {x[0]}) would reach into Python objects.
            raise CiteTemplateError(key, f"field {{{name}}} is not a plain name; known: {known_list}", name)
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=1)
            hint = f" (did you mean {{{close[0]}}}?)" if close else ""
            raise CiteTemplateError(key, f"unknown field {{{name}}}{hint}; known: {known_list}", name)
        if conversion not in (None, "s"):
            raise CiteTemplateError(key, f"field {{{name}!{conversion}}}: only !s is allowed", name)
        if spec and ("{" in spec or "}" in spec):
            raise CiteTemplateError(
                key, f"field {{{name}}}: nested fields in a format spec are not allowed", name
            )
        if spec:
            try:
                format("x", spec)
            except ValueError as exc:
                raise CiteTemplateError(key, f"field {{{name}:{spec}}}: {exc}", name) from None
        names.add(name)
    return names


# --------------------------------------------------------------------------- one post, as facts


@dataclass(slots=True)
class _Link:
    url: str | None  # None when refused
    refused: str | None = None  # the reason


@dataclass(slots=True)
class _Item:
    """Everything known about one cited post, already cleaned; formats render from this."""

    sp: StoredPost
    n: int
    source: str
    kind: str
    channel: str
    name: str
    handle: str
    author: str
    link: _Link
    published: datetime
    excerpt: str
    note: str
    views: str  # raw rounded string, cleaned
    views_seen: datetime | None
    first_seen: datetime
    last_seen: datetime
    edited_after_capture: bool
    edited_at_source: bool
    forward_name: str | None
    forward: _Link | None  # None: not forwarded, or forwarded from a hidden origin
    reply: _Link | None
    archive: _Link | None  # None: no snapshot recorded yet
    reposted_by: str  # who reposted/boosted a post shown as the original ("" if not a repost)
    quote: _Link | None
    sha256: str
    verification: Verification
    earliest: _Item | None = None  # the first post of the same news, when it is another post

    @property
    def ref(self) -> str:
        return f"{self.source}/{self.sp.post.id}"

    @property
    def platform(self) -> str:
        return _KIND_LABEL.get(self.kind, self.kind)

    @property
    def who(self) -> str:
        """Name and handle; for kinds other than Telegram also the platform, as a reader looks the
        account up ("Fire Service (@fire@social.example on Mastodon)", "Alerts (RSS feed <url>)")."""
        if self.kind == "telegram":
            return f"{self.name} ({self.handle})" if self.handle and self.handle != self.name else self.name
        if self.kind == "rss":
            return f"{self.name} (RSS feed {self.channel})" if self.channel and self.channel != self.name \
                else f"{self.name} (RSS feed)"
        where = f"{self.handle} on {self.platform}" if self.handle else self.platform
        return f"{self.name} ({where})"


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _encode_url(url: str) -> str:
    """`url` with characters that markup could misread percent-encoded; an IDN host as punycode."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if not netloc.isascii():
        host = parts.hostname or ""
        try:
            ascii_host = host.encode("idna").decode("ascii")
        except UnicodeError:
            ascii_host = quote(host, safe="")
        netloc = netloc.replace(host, ascii_host) if host in netloc else ascii_host
    safe = "!#$%&'()*+,/:;=?@[]~"
    return urlunsplit(
        (
            parts.scheme.lower(),
            netloc,
            quote(parts.path, safe=safe),
            quote(parts.query, safe=safe),
            quote(parts.fragment, safe=safe),
        )
    )


def _canonical_tme(url: str) -> str:
    """A t.me / telegram.me post or channel link in its canonical https://t.me form (no /s/, no query)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.scheme.lower() not in ("http", "https") or (parts.hostname or "").lower() not in _TG_HOSTS:
        return url
    segs = [s for s in parts.path.split("/") if s]
    if segs and segs[0] == "s":
        segs = segs[1:]
    if len(segs) == 2 and _TG_NAME.fullmatch(segs[0]) and segs[1].isdigit():
        return f"https://t.me/{segs[0]}/{int(segs[1])}"
    if len(segs) == 1 and _TG_NAME.fullmatch(segs[0]):
        return f"https://t.me/{segs[0]}"
    return url


def _check_link(url: str | None, what: str, item_ref: str, refused: list[Refusal]) -> _Link:
    problem = url_problem(url)
    if problem is None and url is not None:
        try:
            safe = _encode_url(url)
        except ValueError as exc:  # a malformed netloc (bad port, brackets)
            problem = f"URL cannot be parsed ({exc})"
        else:
            problem = url_problem(safe)
            if problem is None:
                return _Link(safe)
    reason = clean_line(problem or "URL refused")
    refused.append(Refusal(url=show_invisible(url or ""), reason=reason, post=item_ref, what=what))
    return _Link(None, reason)


def _item(sp: StoredPost, n: int, opts: CiteOptions, refused: list[Refusal], ver: Verification) -> _Item:
    post = sp.post
    kind = _kind(post.source)
    valid_tg = kind != "telegram" or bool(_TG_NAME.fullmatch(post.channel or ""))
    # Identifiers are shown with invisible characters escaped rather than removed: removing them
    # could turn a hostile name into another, real channel's name.
    channel = clean_line(post.channel) if valid_tg else show_invisible(post.channel or "")
    source = show_invisible(post.source)
    ref = f"{source}/{post.id}"
    name = _cap(
        clean_line(post.channel_title) or (f"@{channel}" if kind in _AT_KINDS else channel), _MAX_NAME
    )
    handle = _cap("@" + channel.lstrip("@"), _MAX_NAME) if kind in _AT_KINDS and channel else ""

    # The permalink: a Telegram channel name that is not a username cannot make an honest link.
    if not valid_tg:
        reason = "channel name is not a Telegram username, so no permalink can be built"
        refused.append(Refusal(url=show_invisible(permalink(post)), reason=reason, post=ref, what="permalink"))
        link = _Link(None, reason)
    else:
        link = _check_link(permalink(post), "permalink", ref, refused)

    forward_name: str | None = None
    forward: _Link | None = None
    if post.forwarded_from is not None:
        forward_name = _cap(clean_line(post.forwarded_from.name) or "an unnamed source", _MAX_NAME)
        if post.forwarded_from.url:
            forward = _check_link(_canonical_tme(post.forwarded_from.url), "forward", ref, refused)

    reply = _check_link(_canonical_tme(post.reply_to), "reply", ref, refused) if post.reply_to else None
    quote = _check_link(post.quote_of, "quote", ref, refused) if post.quote_of else None

    archive = None
    if link.url is not None and ver.snapshot:
        archive = _check_link(ver.snapshot, "archive", ref, refused)

    sha = (sp.text_sha256 or "").strip().lower()
    if not _HEX64.fullmatch(sha):
        # The store always fills it; for a hand-made StoredPost hash what we were given.
        sha = hashlib.sha256((post.text or "").encode("utf-8")).hexdigest()

    return _Item(
        sp=sp,
        n=n,
        source=source,
        kind=kind,
        channel=channel,
        name=name,
        handle=handle,
        author=_cap(clean_line(post.author), _MAX_NAME),
        link=link,
        published=as_utc(post.published),
        excerpt=excerpt(post.text, opts.excerpt_chars),
        note=_cap(clean_line(sp.pin_note), _MAX_NOTE),
        views=clean_line(post.views),
        views_seen=as_utc(sp.views_seen or sp.last_seen) if post.views else None,
        first_seen=as_utc(sp.first_seen),
        last_seen=as_utc(sp.last_seen),
        edited_after_capture=sp.revisions > 0,
        edited_at_source=bool(post.edited),
        forward_name=forward_name,
        forward=forward,
        reply=reply,
        archive=archive,
        reposted_by=_cap(clean_line(post.reposted_by), _MAX_NAME),
        quote=quote,
        sha256=sha,
        verification=ver,
    )


# --------------------------------------------------------------------------- line parts, per format

# A part of a line is a list of segments: plain text, or a link (None url = refused).
_Seg = tuple[str, str]  # ("text", s) | ("url", url) | ("refused", reason)


def _link_segs(link: _Link) -> list[_Seg]:
    return [("url", link.url)] if link.url is not None else [("refused", link.refused or "URL refused")]


def _parts(it: _Item, opts: CiteOptions) -> dict[str, list[_Seg]]:
    """Each optional phrase of a line as segments; absent phrases are empty lists."""
    parts: dict[str, list[_Seg]] = {}
    if it.author and it.author.casefold() != it.name.casefold():
        parts["author"] = [("text", f"signed {it.author}")]
    if opts.excerpt and it.excerpt:
        parts["excerpt"] = [("text", f"“{it.excerpt}”")]
    elif opts.excerpt and it.sp.post.media:
        parts["excerpt"] = [("text", f"({_media_summary(it.sp.post.media)}, no text)")]
    if opts.notes and it.note:
        parts["note"] = [("text", f"note: {it.note}")]
    if opts.views and it.views:
        seen = f" as of {fmt_utc(it.views_seen)}" if it.views_seen else ""
        parts["views"] = [("text", f"{it.views} views{seen}")]
    if opts.edited and (it.edited_after_capture or it.edited_at_source):
        parts["edited"] = [
            ("text", "edited after capture" if it.edited_after_capture else "edited at source")
        ]
    if opts.forwards and it.forward_name is not None:
        if it.forward is None:
            parts["forward"] = [("text", f"forwarded from {it.forward_name} (link not public)")]
        else:
            parts["forward"] = [("text", f"forwarded from {it.forward_name}, "), *_link_segs(it.forward)]
    if it.reposted_by:
        by = it.reposted_by if it.kind == "rss" else "@" + it.reposted_by.lstrip("@")
        parts["repost"] = [("text", f"reposted by {by} on {it.platform}")]
    if opts.replies and it.reply is not None:
        parts["reply"] = [("text", "in reply to "), *_link_segs(it.reply)]
    if opts.replies and it.quote is not None:
        parts["quote"] = [("text", "quoting "), *_link_segs(it.quote)]
    if opts.checked:
        parts["checked"] = [("text", _checked_phrase(it))]
    if opts.archive and it.archive is not None:
        parts["archive"] = [("text", "archive: "), *_link_segs(it.archive)]
    elif opts.archive and it.link.url is not None:
        parts["archive"] = [("text", "archive: none yet")]
    if opts.sha256:
        parts["sha256"] = [("text", f"text SHA-256 {it.sha256}")]
    if opts.earliest and it.earliest is not None:
        first = it.earliest
        who = f"{first.name} ({first.handle})" if first.handle and first.handle != first.name else first.name
        parts["earliest"] = [("text", f"first posted by {who} at {fmt_utc(first.published)}, "),
                             *_link_segs(first.link)]
    return parts


_GONE = {"deleted": "deleted after capture", "channel_gone": "channel gone after capture"}


def _checked_phrase(it: _Item) -> str:
    """'checked <UTC time>' and what that re-check found; a post gone keeps the hash of what it said."""
    ver = it.verification
    if ver.checked is None:
        return "not re-checked"
    phrase = f"checked {fmt_utc(ver.checked)}"
    if ver.result == "edited":
        return phrase + ": edited since capture"
    if ver.result in _GONE:
        sha = (ver.captured_sha256 or "").strip().lower()
        return f"{phrase}: {_GONE[ver.result]}; captured text SHA-256 {sha if _HEX64.fullmatch(sha) else it.sha256}"
    return phrase


def _media_summary(media: list[str]) -> str:
    """What a post without text carries, e.g. "photo ×2, voice", in first-seen order."""
    counts: dict[str, int] = {}
    for kind in media:
        k = clean_line(kind) or "media"
        counts[k] = counts.get(k, 0) + 1
    return ", ".join(k if n == 1 else f"{k} ×{n}" for k, n in counts.items())


_EXTRAS_ORDER = ("repost", "author", "excerpt", "note", "views", "edited", "checked", "forward", "earliest", "reply",
                 "quote", "archive", "sha256")

# Markdown: characters that can start markup anywhere in a line. Parentheses only matter after
# "]" and "[" is escaped, so names keep their parentheses readable.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#!|~&])")
_MD_LINE_START = re.compile(r"^(?:([-+=])|(\d+)([.)]))")


def _md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def _md_line_start(m: re.Match[str]) -> str:
    # "- x" / "+ x" / "= x" -> "\- x"; "1. x" -> "1\. x" (a backslash before a digit is no escape).
    return "\\" + m.group(1) if m.group(1) else m.group(2) + "\\" + m.group(3)


def _render_segs(segs: list[_Seg], fmt: str) -> str:
    out = []
    for kind, value in segs:
        if kind == "url":
            if fmt == "markdown":
                out.append(f"<{value}>")  # autolink; _encode_url made <, > and spaces impossible
            elif fmt == "html":
                v = html.escape(value, quote=True)
                out.append(f'<a href="{v}">{v}</a>')
            else:
                out.append(value)
        elif kind == "refused":
            label = f"[refused: {value}]"
            if fmt == "markdown":
                out.append(_md_escape(label))
            elif fmt == "html":
                out.append(f'<span class="refused">{html.escape(label)}</span>')
            else:
                out.append(label)
        else:
            out.append(_escape(value, fmt))
    return "".join(out)


def _escape(text: str, fmt: str) -> str:
    if fmt == "markdown":
        return _md_escape(text)
    if fmt == "html":
        return html.escape(text, quote=True)
    return text


def _line_values(it: _Item, opts: CiteOptions, fmt: str) -> dict[str, str]:
    parts = _parts(it, opts)
    rendered = {k: _render_segs(v, fmt) for k, v in parts.items()}
    extras = "".join(_escape("; ", fmt) + rendered[k] for k in _EXTRAS_ORDER if k in rendered)
    plain = {
        "n": str(it.n),
        "who": it.who,
        "name": it.name,
        "handle": it.handle,
        "channel": it.channel,
        "source": it.source,
        "kind": it.kind,
        "platform": it.platform,
        "id": str(it.sp.post.id),
        "time": fmt_utc(it.published),
        "published": utc_iso(it.published),
        "author": it.author,
    }
    values = {k: _escape(v, fmt) for k, v in plain.items()}
    values["url"] = _render_segs(_link_segs(it.link), fmt)
    for key in ("excerpt", "note", "views", "edited", "checked", "forward", "earliest", "reply", "repost", "quote",
                "archive", "sha256"):
        values[key] = rendered.get(key, "")
    values["extras"] = extras
    return values


def _format_template(template: str, values: dict[str, str], fmt: str) -> str:
    """Fill a validated template; its literal text is escaped for `fmt`, the values already are."""
    out = []
    for literal, name, spec, _conv in string.Formatter().parse(template):
        if literal:
            out.append(_escape(literal, fmt))
        if name is not None:
            out.append(format(values[name], spec or ""))
    return "".join(out)


# --------------------------------------------------------------------------- the block


def _head_values(count: int, now: datetime | None) -> dict[str, str]:
    when = now or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return {
        "count": str(count),
        "generated": fmt_utc(when),
        "date": when.astimezone(UTC).strftime("%Y-%m-%d"),
    }


def _render_lines(items: list[_Item], opts: CiteOptions, tpl: CiteTemplates, now: datetime | None) -> str:
    fmt = opts.fmt
    head = _head_values(len(items), now)
    heading = _format_template(tpl.heading, _escape_values(head, fmt), fmt) if tpl.heading else ""
    intro = _format_template(tpl.intro, _escape_values(head, fmt), fmt) if tpl.intro else ""
    lines = [_format_template(tpl.line, _line_values(it, opts, fmt), fmt) for it in items]
    if fmt == "text":
        return "\n".join([s for s in (heading, intro) if s] + [f"- {line}" for line in lines])
    if fmt == "markdown":
        blocks = []
        if heading:
            blocks.append(f"### {heading}")
        if intro:
            blocks.append(intro)
        # A line must not start a nested list, heading or setext underline inside its bullet.
        blocks.append("\n".join("- " + _MD_LINE_START.sub(_md_line_start, line) for line in lines))
        return "\n\n".join(blocks)
    out = ['<section class="wire-provenance">']
    if heading:
        out.append(f"<h3>{heading}</h3>")
    if intro:
        out.append(f"<p>{intro}</p>")
    out.append("<ul>")
    out.extend(f"<li>{line}</li>" for line in lines)
    out.append("</ul>")
    out.append("</section>")
    return "\n".join(out)


def _escape_values(values: dict[str, str], fmt: str) -> dict[str, str]:
    return {k: _escape(v, fmt) for k, v in values.items()}


def _link_json(link: _Link | None) -> str | None:
    return link.url if link is not None else None


def _json_item(it: _Item) -> dict[str, Any]:
    post = it.sp.post
    fwd = None
    if it.forward_name is not None:
        fwd = {
            "name": it.forward_name,
            "url": _link_json(it.forward),
            "url_refused": it.forward.refused if it.forward else None,
            "public": it.forward is not None,
        }
    return {
        "n": it.n,
        "source": it.source,
        "kind": it.kind,
        "channel": it.channel,
        "name": it.name,
        "handle": it.handle or None,
        "id": post.id,
        "url": it.link.url,
        "url_refused": it.link.refused,
        "published": utc_iso(it.published),
        "published_text": fmt_utc(it.published),
        "author": it.author or None,
        "excerpt": it.excerpt,
        "note": it.note or None,
        "views": it.views or None,
        "views_count": post.views_count,
        "views_seen": utc_iso(it.views_seen) if it.views_seen else None,
        "edited": it.edited_after_capture or it.edited_at_source,
        "edited_after_capture": it.edited_after_capture,
        "edited_at_source": it.edited_at_source,
        "revisions": it.sp.revisions,
        "forwarded_from": fwd,
        "reply_to": _link_json(it.reply),
        "reply_to_refused": it.reply.refused if it.reply else None,
        "archive": _link_json(it.archive),
        "checked": utc_iso(it.verification.checked) if it.verification.checked else None,
        "check_result": it.verification.result,
        "sha256": it.sha256,
        "first_seen": utc_iso(it.first_seen),
        "last_seen": utc_iso(it.last_seen),
        "media": [clean_line(m) for m in post.media],
        "service": post.service,
        "captured": _capture_json(it.sp),
        **_other_kind_json(it),
        **({"earliest": {"name": it.earliest.name, "url": _link_json(it.earliest.link),
                         "published": utc_iso(it.earliest.published)}} if it.earliest is not None else {}),
    }


def _other_kind_json(it: _Item) -> dict[str, Any]:
    """Keys only kinds other than Telegram carry (Telegram's JSON stays as it was)."""
    if it.kind == "telegram":
        return {}
    post = it.sp.post
    return {"platform": it.platform, "native_id": clean_line(post.native_id) or None,
            "reposted_by": it.reposted_by or None, "quote_of": _link_json(it.quote)}


def _capture_json(sp: StoredPost) -> dict[str, str] | None:
    """How the cited text was captured ({"how": "fetched"|"imported", "from": URL or file, "at"}),
    None for posts stored before desk recorded it."""
    return sp.capture.to_json() if sp.capture is not None else None


# An indented [[Y, M, D]] spreads over eight lines; put it back on one. Every gap matched holds a
# newline, which JSON never leaves raw inside a string, so string values cannot match.
_DATE_PARTS = re.compile(r"\[\n\s*\[\n\s*(\d+),\n\s*(\d+),\n\s*(\d+)\n\s*\]\n\s*\]")


def _date_parts(dt: datetime) -> dict[str, list[list[int]]]:
    d = as_utc(dt)
    return {"date-parts": [[d.year, d.month, d.day]]}


def _csl_item(it: _Item) -> dict[str, Any]:
    post = it.sp.post
    item: dict[str, Any] = {
        "id": it.ref,
        "type": "post",
        "title": it.excerpt or f"Post {post.id}",
        "container-title": it.name,
    }
    if it.author:
        item["author"] = [{"literal": it.author}]
    if it.link.url is not None:
        item["URL"] = it.link.url
    item["issued"] = _date_parts(it.published)
    item["accessed"] = _date_parts(it.first_seen)
    if it.kind in _KIND_LABEL:
        item["source"] = _KIND_LABEL[it.kind]
    if it.note:
        item["note"] = it.note
    fwd = None
    if it.forward_name is not None:
        fwd = {"name": it.forward_name, "url": _link_json(it.forward)}
    item["custom"] = {
        "published": utc_iso(it.published),
        "first_seen": utc_iso(it.first_seen),
        "handle": it.handle or None,
        "views": it.views or None,
        "views_seen": utc_iso(it.views_seen) if it.views_seen else None,
        "sha256": it.sha256,
        "archive": _link_json(it.archive),
        "checked": utc_iso(it.verification.checked) if it.verification.checked else None,
        "check_result": it.verification.result,
        "edited": it.edited_after_capture or it.edited_at_source,
        "edited_after_capture": it.edited_after_capture,
        "forwarded_from": fwd,
        "reply_to": _link_json(it.reply),
        "url_refused": it.link.refused,
        "captured": _capture_json(it.sp),
        **_other_kind_json(it),
    }
    return item


_NO_FACTS = Verification()


def render(
    posts: Sequence[StoredPost],
    options: CiteOptions | None = None,
    templates: CiteTemplates | None = None,
    now: datetime | None = None,
    verified: Mapping[tuple[str, int], Verification] | None = None,
    earliest: Mapping[tuple[str, int], StoredPost] | None = None,
) -> Citation:
    """The citation block for `posts` (the pins in the editor's order, or posts named by the editor).

    Raises `CiteOptionError` / `CiteTemplateError` (both ValueError) for a bad option or template,
    TypeError for an item that is not a StoredPost. Everything about the posts themselves is
    handled: duplicates are dropped, unsafe URLs refused in view. `now` only fills the {generated}
    and {date} heading fields (current time when None). `verified` gives, by (source, post id), the
    re-check and archive facts the "checked" and "archive" options print; `earliest`, by (source,
    post id), the first post of the same news (Store.first_of) the "earliest" option names. No posts: "No posts to cite." (``[]`` in the
    JSON formats), count 0.
    """
    opts = (options or CiteOptions()).validate()
    tpl = (templates or CiteTemplates()).validate()
    unique, dropped = unique_posts(posts)
    if opts.order == "chronological":
        # Ties (same second) fall back to source and id so the block is stable.
        unique.sort(key=lambda sp: (as_utc(sp.post.published), _post_key(sp)))
    refused: list[Refusal] = []
    facts = verified or {}
    items = [_item(sp, n, opts, refused, facts.get((sp.post.source, sp.post.id), _NO_FACTS))
             for n, sp in enumerate(unique, start=1)]
    if opts.earliest and earliest:
        for it in items:
            first = earliest.get((it.sp.post.source, it.sp.post.id))
            if first is not None and first.key != it.sp.key:
                it.earliest = _item(first, 0, opts, refused, _NO_FACTS)  # its link passes the same checks

    if opts.fmt in ("json", "csl-json"):
        data = [(_json_item if opts.fmt == "json" else _csl_item)(it) for it in items]
        text = _DATE_PARTS.sub(r"[[\1, \2, \3]]", json.dumps(data, ensure_ascii=False, indent=2))
    elif not items:
        text = {"text": _EMPTY, "markdown": _EMPTY, "html": f"<p>{_EMPTY}</p>"}[opts.fmt]
    else:
        text = _render_lines(items, opts, tpl, now)
    return Citation(text=text, refused=refused, count=len(items), duplicates=dropped, fmt=opts.fmt)
