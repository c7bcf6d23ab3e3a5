"""Settings: TOML (tomllib) into typed, validated dataclasses.

Every problem is reported as one `ConfigError` line naming the file, the key and what is wrong, so
the CLI can print it and exit 2 without a traceback.
"""

from __future__ import annotations

import re
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from deskapp.core import politeness
from deskapp.core.alerts import Rule, RuleAction, RuleError
from deskapp.core.alerts import validate as validate_rule
from deskapp.core.backend import is_pg_url, sqlite_path
from deskapp.core.desks import DeskNameError, desk_name
from deskapp.core.model import SourceConfig
from deskapp.core.sanitize import clean_line
from deskapp.core.settings import AttentionSettings, PollerSettings
from deskapp.keymap import KEY_IDS
from deskapp.keymap import resolve as resolve_keys

# Telegram usernames: a letter, then letters, digits and _, up to 32 (new ones need 5+; short old
# ones and test channels exist, so 2+).
_HANDLE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{1,31}$")
# First path segments of t.me that are not channels (invite, sticker, proxy, login links ...).
_NOT_CHANNELS = {"joinchat", "addstickers", "addemoji", "addlist", "addtheme", "proxy", "socks", "share",
                 "iv", "login", "setlanguage", "confirmphone", "invoice", "boost", "giftcode", "contact",
                 "bg", "s", "c", "k", "z", "a", "m"}
_TME_HOSTS = {"t.me", "www.t.me", "telegram.me", "www.telegram.me", "telegram.dog"}
MAX_CONFIG_BYTES = 1_000_000  # a settings file is a few KB; anything bigger is not one
# [poller] lease_seconds: the heartbeat is a third of it, so a lease under 1 s would be mostly heartbeats.
LEASE_RANGE = (1.0, 3600.0)


class ConfigError(Exception):
    """One readable line: '<file>: <key>: <problem>'."""

    def __init__(self, path: Path | None, key: str, problem: str):
        self.path, self.key, self.problem = path, key, problem
        where = str(path) if path else "settings"
        super().__init__(f"{where}: {key}: {problem}" if key else f"{where}: {problem}")


@dataclass(slots=True)
class UISettings:
    time: str = "utc"  # or "local"
    watch: list[str] = field(default_factory=list)  # words highlighted in the feed


@dataclass(slots=True)
class CiteSettings:
    format: str = "text"
    heading: str | None = None  # None: the renderer's default
    intro: str | None = None
    line: str | None = None
    options: dict[str, Any] = field(default_factory=dict)  # excerpt, views, archive, sha256, order, ...


@dataclass(slots=True)
class VerifySettings:
    stale_after: float = 30.0  # minutes: copying a citation whose pins were checked longer ago warns
    archive: str = "https://web.archive.org"  # Save Page Now lives at <archive>/save/<url>
    archive_gap: float = 10.0  # seconds between two requests to the archive (a shared public service)


@dataclass(slots=True)
class Settings:
    path: Path | None = None  # the file these came from (None: defaults only)
    base_url: str = "https://t.me"
    sources: list[SourceConfig] = field(default_factory=list)
    store: Path | None = None
    store_url: str | None = None  # [store] url = "postgresql://..." (core/backend.py)
    state: Path | None = None
    poller: PollerSettings = field(default_factory=PollerSettings)
    ui: UISettings = field(default_factory=UISettings)
    keys: dict[str, str] = field(default_factory=dict)
    cite: CiteSettings = field(default_factory=CiteSettings)
    verify: VerifySettings = field(default_factory=VerifySettings)
    desk: str | None = None  # [desk] name: whose pinboard and citation settings (None: the user's)
    attention: AttentionSettings = field(default_factory=AttentionSettings)


def load(path: Path, *, must_exist: bool = False) -> Settings:
    """Read and validate the settings file; a missing file gives defaults unless `must_exist`."""
    try:
        st = path.stat()
    except FileNotFoundError:
        if must_exist:
            raise ConfigError(path, "", "file not found") from None
        return Settings(path=None)
    except OSError as exc:
        raise ConfigError(path, "", f"cannot read: {exc.strerror}") from None
    # /dev/zero, a FIFO or a huge file would be read forever or into all memory.
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(path, "", "not a regular file")
    if st.st_size > MAX_CONFIG_BYTES:
        raise ConfigError(path, "", f"too large for a settings file ({st.st_size:,} bytes, at most "
                                    f"{MAX_CONFIG_BYTES:,})")
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
        if len(data) > MAX_CONFIG_BYTES:
            raise ConfigError(path, "", f"too large for a settings file (over {MAX_CONFIG_BYTES:,} bytes)")
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(path, "", f"not UTF-8 text ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", f"invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(path, "", "invalid TOML: nested too deeply") from None
    except ValueError as exc:  # tomllib lets int()'s digit limit through (a 5,000-digit number)
        raise ConfigError(path, "", f"invalid TOML: {str(exc).split(';')[0]}") from None
    except OSError as exc:
        raise ConfigError(path, "", f"cannot read: {exc.strerror}") from None
    return parse(raw, path)


def parse(raw: dict[str, Any], path: Path | None = None) -> Settings:
    r = _Reader(path)
    known = {"telegram", "store", "poller", "ui", "keys", "cite", "verify", "desk", "attention", "alert", "mute",
             *OTHER_KINDS}
    r.no_unknown(raw, known, "")
    s = Settings(path=path)

    desk = r.table(raw, "desk")
    r.no_unknown(desk, {"name"}, "desk")
    if "name" in desk:
        try:
            s.desk = desk_name(r.string(desk, "name", "desk"))
        except DeskNameError as exc:
            raise ConfigError(path, "desk.name", str(exc)) from None

    store = r.table(raw, "store")
    if "path" in store:
        s.store = Path(r.string(store, "path", "store")).expanduser()
    if "state" in store:
        s.state = Path(r.string(store, "state", "store")).expanduser()
    if "url" in store:
        url = r.string(store, "url", "store")
        if is_pg_url(url):
            s.store_url = url
        elif url.startswith("sqlite:"):
            s.store = sqlite_path(url)
        else:
            raise ConfigError(path, "store.url", f"must be postgresql://... or sqlite:PATH, got {url!r}")
    r.no_unknown(store, {"path", "state", "url"}, "store")

    p = r.table(raw, "poller")
    defaults = PollerSettings()
    tg = r.table(raw, "telegram")
    r.no_unknown(tg, {"base_url", "channels", "interval"}, "telegram")
    if "base_url" in tg:
        base = r.string(tg, "base_url", "telegram").rstrip("/")
        if not re.match(r"^https?://[^\s/]+", base):
            raise ConfigError(path, "telegram.base_url", f"must be an http(s) URL, got {base!r}")
        s.base_url = base

    # Politeness floors depend on the host: a loopback test server may go lower than a real one.
    where_host = "" if politeness.is_loopback(s.base_url) else f" for a real host ({s.base_url})"
    for name in politeness.FLOORS:
        if name in p:
            setattr(s.poller, name, r.number(p, name, "poller", minimum=politeness.floor(name, s.base_url),
                                             why=where_host))
    if "max_body" in p:
        s.poller.max_body = int(r.number(p, "max_body", "poller", minimum=politeness.MAX_BODY_RANGE[0],
                                         maximum=politeness.MAX_BODY_RANGE[1], integer=True))
    if "backfill_pages" in p:
        s.poller.backfill_pages = int(r.number(p, "backfill_pages", "poller", minimum=0,
                                               maximum=politeness.BACKFILL_PAGES_MAX, integer=True))
    if "parse_timeout" in p:
        s.poller.parse_timeout = r.number(p, "parse_timeout", "poller", minimum=0.1, maximum=600)
    if "user_agent" in p:
        s.poller.user_agent = r.string(p, "user_agent", "poller")
    if "lease_seconds" in p:
        s.poller.lease_seconds = r.number(p, "lease_seconds", "poller", minimum=LEASE_RANGE[0], maximum=LEASE_RANGE[1])
    if "address" in p:
        address = r.string(p, "address", "poller").strip()
        if not address or len(address) > 200 or clean_line(address) != address:
            raise ConfigError(path, "poller.address", f"must be one line of 1 to 200 characters, got {_short(address)}")
        s.poller.address = address
    r.no_unknown(p, set(defaults.__slots__), "poller")
    if s.poller.min_interval > s.poller.max_interval:
        raise ConfigError(path, "poller.min_interval", "must not be larger than poller.max_interval")
    if s.poller.backoff_base > s.poller.backoff_max:
        raise ConfigError(path, "poller.backoff_base", "must not be larger than poller.backoff_max")

    interval_floor = politeness.floor("channel_interval", s.base_url)
    default_interval = (r.number(tg, "interval", "telegram", minimum=interval_floor, why=where_host)
                        if "interval" in tg else None)
    s.sources = _channels(r, tg.get("channels", []), s.base_url, default_interval)
    for kind_name in OTHER_KINDS:
        s.sources += _other_sources(r, kind_name, r.table(raw, kind_name))

    ui = r.table(raw, "ui")
    r.no_unknown(ui, {"time", "watch"}, "ui")
    if "time" in ui:
        t = r.string(ui, "time", "ui")
        if t not in ("utc", "local"):
            raise ConfigError(path, "ui.time", f"must be \"utc\" or \"local\", got {t!r}")
        s.ui.time = t
    if "watch" in ui:
        s.ui.watch = r.string_list(ui, "watch", "ui")

    s.attention = _attention(r, raw)

    keys = r.table(raw, "keys")
    for key_id, value in keys.items():
        if key_id not in KEY_IDS:
            raise ConfigError(path, f"keys.{key_id}", f"unknown binding id; known: {', '.join(sorted(KEY_IDS))}")
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(path, f"keys.{key_id}", "must be a non-empty string of comma-separated keys")
        s.keys[key_id] = ",".join(k.strip() for k in value.split(",") if k.strip())
    _key_conflicts(s.keys, path)

    cite = r.table(raw, "cite")
    for name in ("format", "heading", "intro", "line"):
        if name in cite:
            setattr(s.cite, name, r.string(cite, name, "cite"))
    s.cite.options = {k: v for k, v in cite.items() if k not in ("format", "heading", "intro", "line")}
    cite_objects(s)  # a wrong [cite] table is reported at start-up, not at the first copy

    v = r.table(raw, "verify")
    r.no_unknown(v, {"stale_after", "archive", "archive_gap"}, "verify")
    if "stale_after" in v:
        s.verify.stale_after = r.number(v, "stale_after", "verify", minimum=0.0)
    if "archive" in v:
        archive = r.string(v, "archive", "verify").rstrip("/")
        if not re.match(r"^https?://[^\s/]+", archive):
            raise ConfigError(path, "verify.archive", f"must be an http(s) URL, got {archive!r}")
        s.verify.archive = archive
    if "archive_gap" in v:
        s.verify.archive_gap = r.number(v, "archive_gap", "verify", minimum=0.0)
    return s


def _key_conflicts(overrides: dict[str, str], path: Path | None) -> None:
    """One key for two actions would do only one of them: name both (the remapped one first)."""
    owner: dict[str, str] = {}
    # The desk's own keys share one screen; a dialog's keys live on that dialog only (Esc is in several).
    specs = {k: spec for k, spec in resolve_keys(overrides).items() if not spec.dialog}
    # The editor's own bindings are checked first, so the message names the line they wrote.
    for key_id in [*(k for k in overrides if k in specs), *(k for k in specs if k not in overrides)]:
        for key in specs[key_id].keys.split(","):
            other = owner.setdefault(key, key_id)
            if other != key_id:
                mine, theirs = (key_id, other) if key_id in overrides else (other, key_id)
                raise ConfigError(path, f"keys.{mine}", f"{key!r} is also the key of {theirs} "
                                  f"({specs[theirs].description}); give each key one action")


def cite_objects(settings: Settings, overrides: dict[str, Any] | None = None):
    """`(CiteOptions, CiteTemplates)` from the [cite] table (plus overrides), validated.

    Raises ConfigError naming the key (e.g. `cite.line: unknown field {chanel}`)."""
    from deskapp.core import cite

    path = settings.path
    opts = dict(settings.cite.options)
    opts["fmt"] = settings.cite.format
    opts.update(overrides or {})
    fields = set(cite.CiteOptions.__dataclass_fields__)
    for key in opts:
        if key not in fields:
            raise ConfigError(path, f"cite.{key}", f"unknown setting; known: format, heading, intro, line, "
                              f"{', '.join(sorted(fields - {'fmt'}))}")
    try:
        options = cite.CiteOptions(**opts).validate()
    except TypeError as exc:
        raise ConfigError(path, "cite", str(exc)) from None
    except cite.CiteOptionError as exc:
        raise ConfigError(path, "", str(exc)) from None
    tmpl = {k: v for k, v in (("heading", settings.cite.heading), ("intro", settings.cite.intro),
                              ("line", settings.cite.line)) if v is not None}
    try:
        templates = cite.CiteTemplates(**tmpl).validate()
    except cite.CiteTemplateError as exc:
        raise ConfigError(path, "", str(exc)) from None
    return options, templates


def _channels(r: _Reader, value: Any, base_url: str, default_interval: float | None) -> list[SourceConfig]:
    """`channels` as a list of names / inline tables, or a table of name -> options."""
    items: list[tuple[str, str, dict[str, Any]]] = []  # (key path, handle, options)
    if isinstance(value, list):
        for i, item in enumerate(value):
            where = f"telegram.channels[{i}]"
            if isinstance(item, str):
                items.append((where, item, {}))
            elif isinstance(item, dict):
                if "name" not in item:
                    raise ConfigError(r.path, where, "a channel table needs name = \"<channel>\"")
                items.append((where, r.string(item, "name", where), item))
            else:
                raise ConfigError(r.path, where, "must be a channel name or a table")
    elif isinstance(value, dict):
        for handle, opts in value.items():
            where = f"telegram.channels.{handle}"
            if not isinstance(opts, dict):
                raise ConfigError(r.path, where, "must be a table (label, interval, enabled)")
            items.append((where, handle, opts))
    else:
        raise ConfigError(r.path, "telegram.channels", "must be a list of channel names or a table")

    out: list[SourceConfig] = []
    seen: set[str] = set()
    interval_floor = politeness.floor("channel_interval", base_url)
    why = "" if politeness.is_loopback(base_url) else f" for a real host ({base_url})"
    for where, entry, opts in items:
        handle = _handle(r, where, entry)
        r.no_unknown(opts, {"name", "label", "interval", "enabled"}, where)
        name = f"telegram:{handle.lower()}"
        if name in seen:
            raise ConfigError(r.path, where, f"channel {handle!r} is listed twice")
        seen.add(name)
        interval = (r.number(opts, "interval", where, minimum=interval_floor, why=why)
                    if "interval" in opts else default_interval)
        enabled = opts.get("enabled", True)
        if not isinstance(enabled, bool):
            raise ConfigError(r.path, f"{where}.enabled", "must be true or false")
        label = r.string(opts, "label", where) if "label" in opts else None
        out.append(SourceConfig(name=name, kind="telegram", handle=handle, label=label,
                                interval=interval, enabled=enabled, base_url=base_url))
    return out


# [rss] feeds, [bluesky] accounts, [mastodon] accounts: the list key, the inline-table key naming
# the entry, and the table's own keys.
OTHER_KINDS: dict[str, tuple[str, str]] = {"rss": ("feeds", "url"), "bluesky": ("accounts", "name"),
                                           "mastodon": ("accounts", "name")}
_BSKY_HANDLE = re.compile(r"^(did:(plc|web):[A-Za-z0-9._:%-]{1,2048}|[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
                          r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+)$")
_MASTODON_HANDLE = re.compile(r"^@?[A-Za-z0-9_]{1,64}@[A-Za-z0-9.-]+\.[A-Za-z0-9-]+(:\d{1,5})?$")
_HTTP_URL = re.compile(r"^https?://[^\s/?#]+")


def _other_sources(r: _Reader, kind_name: str, table: dict[str, Any]) -> list[SourceConfig]:
    """`[rss] feeds`, `[bluesky] accounts`, `[mastodon] accounts`: strings or inline tables with
    label, interval, enabled and base_url (where it is fetched from: a mirror or a local server)."""
    from deskapp.core.sources import kind_named

    list_key, entry_key = OTHER_KINDS[kind_name]
    r.no_unknown(table, {list_key, "interval", "base_url"}, kind_name)
    default_base = ""
    if "base_url" in table:
        default_base = _base_url(r, table, "base_url", kind_name)
    value = table.get(list_key, [])
    if not isinstance(value, list):
        raise ConfigError(r.path, f"{kind_name}.{list_key}", "must be a list of strings or inline tables")
    out: list[SourceConfig] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        where = f"{kind_name}.{list_key}[{i}]"
        if isinstance(item, str):
            opts: dict[str, Any] = {entry_key: item}
        elif isinstance(item, dict):
            opts = item
            if entry_key not in opts:
                raise ConfigError(r.path, where, f"an inline table needs {entry_key} = \"...\"")
        else:
            raise ConfigError(r.path, where, "must be a string or an inline table")
        r.no_unknown(opts, {entry_key, "label", "interval", "enabled", "base_url"}, where)
        handle = _other_handle(r, kind_name, where, r.string(opts, entry_key, where))
        kind = kind_named(kind_name)  # only once one is listed: a desk without feeds never loads feedparser
        name = kind.source_name(handle)
        if name in seen:
            raise ConfigError(r.path, where, f"{handle!r} is listed twice")
        seen.add(name)
        base = _base_url(r, opts, "base_url", where) if "base_url" in opts else default_base
        if not base:
            base = _own_origin(kind_name, handle) or kind.default_base
        why = "" if politeness.is_loopback(base) else f" for a real host ({base})"
        floor = politeness.floor("channel_interval", base)
        interval = None
        if "interval" in opts:
            interval = r.number(opts, "interval", where, minimum=floor, why=why)
        elif "interval" in table:
            interval = r.number(table, "interval", kind_name, minimum=floor, why=why)
        enabled = opts.get("enabled", True)
        if not isinstance(enabled, bool):
            raise ConfigError(r.path, f"{where}.enabled", "must be true or false")
        label = r.string(opts, "label", where) if "label" in opts else None
        out.append(SourceConfig(name=name, kind=kind_name, handle=handle, label=label, interval=interval,
                                enabled=enabled, base_url=base))
    return out


def _base_url(r: _Reader, table: dict[str, Any], key: str, where: str) -> str:
    base = r.string(table, key, where).rstrip("/")
    if not _HTTP_URL.match(base):
        raise ConfigError(r.path, _join(where, key), f"must be an http(s) URL, got {_short(base)}")
    return base


def _own_origin(kind_name: str, handle: str) -> str:
    """Where an entry is fetched from by default: a feed's own host, a Mastodon account's instance."""
    if kind_name == "rss":
        parts = urlsplit(handle)
        return f"{parts.scheme}://{parts.netloc}"
    if kind_name == "mastodon":
        return f"https://{handle.rsplit('@', 1)[1]}"
    return ""


def _other_handle(r: _Reader, kind_name: str, where: str, entry: str) -> str:
    text = entry.strip()
    if kind_name == "rss":
        if not _HTTP_URL.match(text) or any(c.isspace() for c in text):
            raise ConfigError(r.path, where, f"{_short(entry)} is not an http(s) feed URL")
        return text
    if kind_name == "bluesky":
        handle = text.removeprefix("@")
        if handle.startswith("https://bsky.app/profile/"):
            handle = handle.removeprefix("https://bsky.app/profile/").strip("/")
        if not _BSKY_HANDLE.match(handle):
            raise ConfigError(r.path, where, f"{_short(entry)} is not a Bluesky handle (name.bsky.social) or DID")
        return handle
    if "://" in text:  # https://instance/@user
        parts = urlsplit(text)
        segs = [seg for seg in parts.path.split("/") if seg]
        if len(segs) == 1 and segs[0].startswith("@") and parts.hostname:
            text = f"{segs[0]}@{parts.netloc.lower()}"
    if not _MASTODON_HANDLE.match(text):
        raise ConfigError(r.path, where, f"{_short(entry)} is not a Mastodon account (@user@instance)")
    return "@" + text.lstrip("@")


def _handle(r: _Reader, where: str, entry: str) -> str:
    """The channel username in a config entry: `name`, `@name`, or a t.me link to the channel itself.

    Anything else (a post link, an invite link, another host, a path) is a config error naming the
    entry: guessing the channel from it could poll, and file posts under, the wrong one."""
    text = entry.strip()
    shown = repr(entry) if len(entry) <= 80 else repr(entry[:77] + "...")
    if "/" in text or ":" in text:
        link = text if "://" in text else "https://" + text
        try:
            parts = urlsplit(link)
            host = (parts.hostname or "").lower()
        except ValueError:
            raise ConfigError(r.path, where, f"{shown} is not a channel name or t.me link") from None
        if parts.scheme not in ("http", "https") or host not in _TME_HOSTS:
            raise ConfigError(r.path, where, f"{shown} is not a t.me link; give the channel's username")
        segments = [seg for seg in parts.path.split("/") if seg]
        if segments[:1] == ["s"]:
            segments = segments[1:]  # t.me/s/<name> is the preview page of <name>
        if parts.query or parts.fragment or parts.port or parts.username:
            raise ConfigError(r.path, where, f"{shown} is not a plain channel link; give the channel's username")
        if not segments:
            raise ConfigError(r.path, where, f"{shown} names no channel")
        first = segments[0]
        if first.startswith("+") or first.lower() in _NOT_CHANNELS:
            raise ConfigError(r.path, where, f"{shown} is an invite or service link, not a public channel")
        if len(segments) > 1:
            raise ConfigError(r.path, where, f"{shown} is a post link, not a channel; use {first!r}"
                              if segments[1].isdigit() else f"{shown} is not a channel link")
        text = first
    handle = text[1:] if text.startswith("@") else text
    if not _HANDLE.match(handle) or handle.lower() in _NOT_CHANNELS:
        raise ConfigError(r.path, where, f"{shown} is not a Telegram channel name (a letter, then letters, "
                          "digits or _, up to 32)")
    return handle


_RULE_KEYS = {"name", "words", "phrases", "patterns", "sources", "kinds"}


def _attention(r: _Reader, raw: dict[str, Any]) -> AttentionSettings:
    """[attention] options, and the [[alert]] and [[mute]] rules (core/alerts.py)."""
    out = AttentionSettings()
    opts = r.table(raw, "attention")
    r.no_unknown(opts, {"bell", "notify", "command"}, "attention")
    for flag in ("bell", "notify"):
        if flag in opts:
            if not isinstance(opts[flag], bool):
                raise ConfigError(r.path, f"attention.{flag}", f"must be true or false, got {_short(opts[flag])}")
            setattr(out, flag, opts[flag])
    if "command" in opts:
        command = opts["command"]
        if isinstance(command, str):
            command = [command]
        if (not isinstance(command, list) or not command
                or not all(isinstance(c, str) and c and "\x00" not in c for c in command)):
            raise ConfigError(r.path, "attention.command", "must be a program and its arguments, "
                              'e.g. ["/usr/local/bin/page-desk", "--channel", "wire"]')
        out.command = list(command)
    seen: set[str] = set()
    for action in (RuleAction.ALERT, RuleAction.MUTE):
        entries = raw.get(str(action), [])
        if isinstance(entries, dict):
            entries = [entries]
        if not isinstance(entries, list):
            raise ConfigError(r.path, str(action), f"must be [[{action}]] tables")
        for n, entry in enumerate(entries, 1):
            where = f"{action}[{n}]"
            if not isinstance(entry, dict):
                raise ConfigError(r.path, where, "must be a table with name and words, phrases or patterns")
            r.no_unknown(entry, _RULE_KEYS, where)
            name = r.string(entry, "name", where) if "name" in entry else f"{action} {n}"
            if name in seen:
                raise ConfigError(r.path, f"{where}.name", f"{name!r} is used by another rule")
            seen.add(name)
            lists = {k: tuple(r.string_list(entry, k, where)) for k in _RULE_KEYS - {"name"} if k in entry}
            try:
                out.rules.append(validate_rule(Rule(name, action, **lists)))
            except RuleError as exc:
                raise ConfigError(r.path, where, str(exc)) from None
    return out


class _Reader:
    """Small typed getters that raise ConfigError with the full key path."""

    def __init__(self, path: Path | None):
        self.path = path

    def table(self, raw: dict[str, Any], key: str) -> dict[str, Any]:
        value = raw.get(key, {})
        if not isinstance(value, dict):
            raise ConfigError(self.path, key, "must be a table")
        return value

    def string(self, raw: dict[str, Any], key: str, where: str) -> str:
        value = raw[key]
        if not isinstance(value, str):
            raise ConfigError(self.path, _join(where, key), f"must be a string, got {type(value).__name__}")
        return value

    def string_list(self, raw: dict[str, Any], key: str, where: str) -> list[str]:
        value = raw[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(self.path, _join(where, key), "must be a list of strings")
        return list(value)

    def number(self, raw: dict[str, Any], key: str, where: str, *, minimum: float | None = None,
               maximum: float | None = None, integer: bool = False, why: str = "") -> float:
        value = raw[key]
        ok = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok:
            kind = "a whole number" if integer else "a number"
            raise ConfigError(self.path, _join(where, key), f"must be {kind}, got {_short(value)}")
        try:
            number = float(value)
        except OverflowError:
            number = float("inf")
        if not politeness.finite(number):
            raise ConfigError(self.path, _join(where, key), f"must be a finite number, got {_short(value)}")
        if minimum is not None and value < minimum:
            raise ConfigError(self.path, _join(where, key), f"must be at least {minimum:g}{why}, got {_short(value)}")
        if maximum is not None and value > maximum:
            raise ConfigError(self.path, _join(where, key), f"must be at most {maximum:g}, got {_short(value)}")
        return number

    def no_unknown(self, raw: dict[str, Any], known: set[str], where: str) -> None:
        for key in raw:
            if key not in known:
                raise ConfigError(self.path, _join(where, key),
                                  f"unknown setting; known here: {', '.join(sorted(known))}")


def _short(value: Any) -> str:
    if isinstance(value, int) and value.bit_length() > 128:
        return f"a number of about {int(value.bit_length() * 0.30103)} digits"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


MINIMAL_EXAMPLE = '[telegram]\nchannels = ["durov", "bbcrussian"]\n'


def add_channel(path: Path, entry: str) -> SourceConfig:
    """Add a Telegram channel (a name, @name or t.me link) to `[telegram] channels` in the settings
    file at `path` (created when missing; comments and layout kept), and return it as configured.

    The whole new file is validated before it replaces the old one (atomically), so a ConfigError
    -- an invalid name, a channel already listed, a file that does not parse -- leaves it untouched."""
    import os
    import tempfile

    import tomlkit

    entry = entry.strip()
    if not entry:
        raise ConfigError(path, "telegram.channels", "type a channel name, @name or t.me link")
    handle = parse({"telegram": {"channels": [entry]}}, path).sources[0].handle  # one channel, checked
    current = load(path) if path.exists() else Settings(path=None)
    if any(s.handle.lower() == handle.lower() for s in current.sources):
        raise ConfigError(path, "telegram.channels", f"channel {handle!r} is already in the settings")
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    doc = tomlkit.parse(text)
    telegram = doc.get("telegram")
    if telegram is None:
        telegram = tomlkit.table()
        doc["telegram"] = telegram
    channels = telegram.get("channels")
    if channels is None:
        telegram["channels"] = [handle]
    elif isinstance(channels, list):
        channels.append(handle)
    else:  # the table form: [telegram.channels.<name>]
        channels[handle] = tomlkit.table()
    new_text = tomlkit.dumps(doc)
    added = [s for s in parse(tomllib.loads(new_text), path).sources if s.handle == handle]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(new_text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return added[0]
