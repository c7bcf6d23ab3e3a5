"""The `desk` command. Textual is imported only when the desk itself starts."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from deskapp import config as config_mod
from deskapp.config import ConfigError, Settings
from deskapp.core.backend import is_pg_url, open_store, shown_url, sqlite_path
from deskapp.core.model import CheckKind, fmt_utc
from deskapp.logfile import LogFile
from deskapp.paths import Paths, default_state, default_store, resolve_config

EXIT_USAGE = 2
MAX_LIMIT = 100_000  # posts one `desk search` prints
# Commands that run on a PostgreSQL store today (the store's missing methods say so themselves).
# None: the desk itself (on PostgreSQL it hears commits; its own poller leases sources as `desk poll` does).
ON_POSTGRESQL = {"locate", "parse", "poll", "sources", "search", "cite", "pin", "unpin", "pins", "db", "alerts",
                 "verify", "evidence", "archive", "import", "check", None}


class CliError(Exception):
    """A failure the user can act on: printed as one line, exit status `code`."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


@dataclass(slots=True)
class Context:
    settings: Settings
    paths: Paths
    desk: str  # the desk name in use (core/desks.py)


def _common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # On sub-commands the defaults are SUPPRESS so that `desk --db X poll` and `desk poll --db X` both work.
    default = None if top else argparse.SUPPRESS
    parser.add_argument("--config", metavar="PATH", default=default,
                        help="settings file (default: $DESK_CONFIG, then the platform config folder)")
    parser.add_argument("--db", metavar="PATH", default=default, help="the store: a SQLite file, or a PostgreSQL server URL (postgresql://...)")
    parser.add_argument("--desk", metavar="NAME", default=default,
                        help="whose pinboard and citation settings (default: [desk] name, then your user name)")
    parser.add_argument("-v", "--verbose", action="store_true", default=False if top else argparse.SUPPRESS,
                        help="log to stderr too")


# The source kinds (core/sources/), for --kind; named here so that --help needs no import of them.
_KIND_NAMES = ("telegram", "rss", "bluesky", "mastodon")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("deskapp")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="desk",
        description="A terminal desk for live wire monitoring. Without a command, the desk starts.",
    )
    _common(p, top=True)
    p.add_argument("--version", action="version", version=f"desk {_version()}")
    p.add_argument("--no-poll", action="store_true", help="only watch the store (another process polls)")
    p.add_argument("--demo", action="store_true",
                   help="start on the built-in demo wire (a local replay server, its own throwaway store)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_)
        _common(sp, top=False)
        return sp

    add("locate", "print every path desk uses")
    sp = add("parse", "print the posts of a saved response (Telegram page, RSS/Atom feed, Bluesky author "
                      "feed, Mastodon statuses) as JSON lines")
    sp.add_argument("file", type=Path)
    sp.add_argument("--url", help="the URL it was fetched from (names a feed; the availability check)")
    sp.add_argument("--kind", choices=_KIND_NAMES, help="the kind of response (default: recognised from it)")
    sp = add("import", "store saved responses (any kind) as if they had been fetched")
    sp.add_argument("files", nargs="+", type=Path)
    sp.add_argument("--kind", choices=_KIND_NAMES, help="the kind of every file (default: recognised per file)")
    sp = add("poll", "poll the configured sources until interrupted")
    sp.add_argument("--once", action="store_true", help="poll each source once, print a summary line each, exit")
    sp = add("sources", "list the sources and their health")
    sp.add_argument("--forget", metavar="NAME", help="remove a source that is no longer in the settings, "
                                                      "with its stored posts (refused while any are pinned)")
    sp = add("check", "check the store file, its search index and counters; exit 1 if something is wrong")
    sp.add_argument("--repair", action="store_true", help="rebuild what can be rebuilt from the posts")
    sp = add("db", "move a store between SQLite and PostgreSQL, or bring its schema up to date")
    dbs = sp.add_subparsers(dest="db_action", metavar="ACTION", required=True)
    cp = dbs.add_parser("copy", help="copy every source, post, revision, pin and desk of SRC into the empty DST, "
                                     "with row counts and a checksum per table",
                        description="SRC and DST: a SQLite file (a path or sqlite:PATH) or postgresql://...")
    cp.add_argument("src")
    cp.add_argument("dst")
    dbs.add_parser("migrate", help="bring the store's schema (--db, [store]) up to date and print its version")
    sp = add("search", "full-text search of stored posts, newest first: words, \"a phrase\", word*, "
                       "a OR b, -word, source:NAME, since:/until: 2024-05-01, 2024-05-01T14:30 (UTC) or 6h/2d")
    sp.add_argument("query")
    sp.add_argument("--limit", type=int, default=20, help=f"at most this many posts (1 to {MAX_LIMIT:,})")
    sp.add_argument("--json", action="store_true", help="JSON lines, as `desk parse` prints them")
    sp = add("alerts", "list the posts that alert rules matched (and pinned posts edited), oldest first")
    sp.add_argument("--since", metavar="TIME", default=None,
                    help="only alerts raised since TIME: a UTC time (2026-12-02T08:00Z) or an age (90m, 12h, 2d)")
    sp.add_argument("--json", action="store_true", help="one JSON object an alert")
    sp.add_argument("--limit", type=int, default=1000, help=f"at most this many (1 to {MAX_LIMIT:,})")
    sp = add("cite", "print the citation block for posts (permalinks or channel/id) or the pins")
    sp.add_argument("posts", nargs="*", metavar="POST")
    sp.add_argument("--pins", action="store_true", help="cite the pinned posts, in the editor's order")
    sp.add_argument("--format", dest="fmt", default=None, help="text, markdown, html, json or csl-json")
    sp.add_argument("--excerpt", action="store_true", default=None, help="add a short excerpt of each post")
    sp.add_argument("--views", action="store_true", default=None, help="add the view count and when it was seen")
    sp.add_argument("--archive", action="store_true", default=None,
                    help="add the archived copy `desk archive` recorded (or say none exists yet)")
    sp.add_argument("--checked", action="store_true", default=None,
                    help="add when each post was last re-checked (and a deletion, with the captured text's hash)")
    sp.add_argument("--sha256", action="store_true", default=None, help="add the SHA-256 of the captured text")
    sp.add_argument("--no-notes", action="store_true", help="leave out the pin notes")
    sp.add_argument("--chronological", action="store_true", help="order by publication time")
    sp.add_argument("--earliest", action="store_true", default=None,
                    help="name the earliest post of the same news beside a later copy (who posted it first)")

    sp = add("pin", "pin posts on the pinboard and capture each post's own page as evidence")
    sp.add_argument("posts", nargs="+", metavar="POST")
    sp.add_argument("--note", default="", help="a note for the pins")
    sp.add_argument("--no-capture", action="store_true", help="pin without fetching the posts")
    sp = add("unpin", "take posts off the pinboard")
    sp.add_argument("posts", nargs="+", metavar="POST")
    sp = add("pins", "list the pinboard, with each pin's last check")
    sp.add_argument("--json", action="store_true", help="one JSON object a pin")
    sp = add("verify", "re-check posts against their capture: unchanged, edited, deleted, channel gone "
                       "(exit 1 unless every post is unchanged)")
    sp.add_argument("posts", nargs="*", metavar="POST")
    sp.add_argument("--pins", action="store_true", help="re-check the pinned posts")
    sp.add_argument("--json", action="store_true", help="one JSON object a post")
    sp = add("evidence", "write a WARC of every capture and re-check of posts, with a JSON manifest")
    sp.add_argument("posts", nargs="*", metavar="POST")
    sp.add_argument("--pins", action="store_true", help="the pinned posts")
    sp.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.warc.gz")
    sp = add("archive", "ask the archive's Save Page Now to archive posts, one at a time, and record the copies")
    sp.add_argument("posts", nargs="*", metavar="POST")
    sp.add_argument("--pins", action="store_true", help="the pinned posts")
    return p


def load_context(args: argparse.Namespace) -> Context:
    for opt in ("db", "config"):
        value = getattr(args, opt, None)
        if value is not None and not value.strip():
            raise CliError(f"--{opt}: empty path; name a file", EXIT_USAGE)
        if value is not None:
            text_arg(f"--{opt}", value)
    cfg_path = resolve_config(getattr(args, "config", None))
    explicit = bool(getattr(args, "config", None) or os.environ.get("DESK_CONFIG"))
    settings = config_mod.load(cfg_path, must_exist=explicit)
    db = getattr(args, "db", None)
    # --db wins over [store]: a server URL, `sqlite:PATH` or a path (core/backend.py).
    url = db if is_pg_url(db) else (None if db else settings.store_url)
    store = sqlite_path(db) if db and not url else (settings.store or default_store())
    state = settings.state or default_state()
    return Context(settings=settings, paths=Paths(config=cfg_path, store=store, state=state, store_url=url),
                   desk=_desk(getattr(args, "desk", None), settings))


def _desk(cli_value: str | None, settings: Settings) -> str:
    """--desk wins, then [desk] name (validated with the settings), then the user's own desk."""
    from deskapp.core.desks import DeskNameError, default_desk, desk_name

    if cli_value is None:
        return settings.desk or default_desk()
    try:
        return desk_name(cli_value)
    except DeskNameError as exc:
        raise CliError(f"--desk: {exc}", EXIT_USAGE) from None


def _setup_logging(paths: Paths, verbose: bool, *, log: Path | None = None) -> None:
    handlers: list[logging.Handler] = []
    try:
        paths.state.mkdir(parents=True, exist_ok=True)
        handlers.append(LogFile(log or paths.log))
    except OSError:
        pass  # a read-only state folder must not stop the desk
    if verbose:
        handlers.append(logging.StreamHandler(sys.stderr))
    logging.basicConfig(level=logging.INFO, handlers=handlers or [logging.NullHandler()],
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)


def _open_store(ctx: Context, *, readonly: bool = False):
    from deskapp.core.store import Store, StoreError

    try:
        if ctx.paths.store_url:
            # A shared server: opened read-write so a fresh database gets its schema.
            return open_store(ctx.paths.store_url, desk=ctx.desk)
        return Store.open(ctx.paths.store, readonly=readonly, desk=ctx.desk)
    except StoreError as exc:
        raise CliError(f"cannot open the store: {exc}") from None


# ---- commands --------------------------------------------------------------------------------------

def cmd_locate(ctx: Context, args: argparse.Namespace) -> int:
    for name, path in ctx.paths.as_rows():
        note = "" if path.exists() else "  (not created yet)"
        if name == "config" and ctx.settings.path is None:
            note = "  (not found: defaults in use)"
        print(f"{name:<14} {path}{note}")
    return 0


def text_arg(name: str, value: str, *, max_chars: int = 10_000) -> str:
    """A command-line argument that must be text: undecodable bytes (lone surrogates) and absurd
    lengths are one clear line, not an error deep inside SQLite."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = value[exc.start].encode("utf-8", "surrogateescape") if value[exc.start] >= "\udc80" else b"?"
        raise CliError(f"{name}: not valid text (byte {bad!r} at character {exc.start + 1} is not UTF-8)",
                       EXIT_USAGE) from None
    if len(value) > max_chars:
        raise CliError(f"{name}: too long ({len(value):,} characters, at most {max_chars:,})", EXIT_USAGE)
    return value


def _read_page(path: Path, cap: int, url: str | None = None, kind: str | None = None):
    from deskapp.core.parse_pool import ParseJobError, read_saved_page
    from deskapp.core.sources import parse_saved

    try:
        data = read_saved_page(path, cap)
    except ParseJobError as exc:
        raise CliError(str(exc)) from None
    try:
        return parse_saved(data, kind=kind, url=url)[1]
    except ValueError as exc:
        raise CliError(f"{path}: {exc}") from None


def cmd_parse(ctx: Context, args: argparse.Namespace) -> int:
    from deskapp.core.sanitize import clean_line, clean_post, post_problem

    page = _read_page(args.file, ctx.settings.poller.max_body, args.url, args.kind)
    refused = list(page.refused)
    # The store's gate, before anything is printed, whichever kind's parser read the file.
    for post in sorted(page.posts, key=lambda p: p.id):
        problem = post_problem(post)
        if problem is not None:
            refused.append(f"post {clean_line(post.source)}/{str(post.id)[:40]}: {problem}")
            continue
        print(json.dumps(clean_post(post).to_json(), ensure_ascii=False))
    for note in refused:
        print(f"desk: {args.file}: refused {clean_line(note)}", file=sys.stderr)
    if not page.posts and page.reason:
        print(f"desk: {args.file}: {page.kind.value}: {clean_line(page.reason)}", file=sys.stderr)
    return 0


def cmd_import(ctx: Context, args: argparse.Namespace) -> int:
    from deskapp.core.importer import ImportStopped, import_files
    from deskapp.core.parse_pool import ParseJobError

    def on_file(path: Path, page) -> None:
        for note in page.refused:
            print(f"{path}: refused {note}")
        if page.posts:
            sources = ", ".join(sorted({p.source for p in page.posts}))
            print(f"{path}: {len(page.posts)} posts ({sources})")
        else:
            print(f"{path}: nothing to import ({page.kind.value}{': ' + page.reason if page.reason else ''})")

    store = _open_store(ctx)
    try:
        res = import_files(store, args.files, max_bytes=ctx.settings.poller.max_body, on_file=on_file,
                           kind=args.kind)
    except ParseJobError as exc:
        raise CliError(f"{exc} (the files before it are stored)") from None
    except ImportStopped as exc:  # a full disk: say so, and what was kept
        raise CliError(f"import stopped at {exc.path}: {exc.problem}; kept before it: "
                       f"{exc.kept.new} new, {exc.kept.changed} edited") from None
    finally:
        store.close()
    print(f"imported: {res.new} new, {res.changed} edited, {res.unchanged} unchanged")
    return 0


def cmd_poll(ctx: Context, args: argparse.Namespace) -> int:
    from deskapp.core.events import PollEvent, PollEventKind
    from deskapp.core.poller import Poller, PollerBusy

    if not any(s.enabled for s in ctx.settings.sources):
        where = ctx.settings.path or ctx.paths.config
        raise CliError(f"no sources to poll: add [telegram] channels, [rss] feeds, [bluesky] or [mastodon] "
                       f"accounts = [...] to {where}", EXIT_USAGE)
    poller = Poller(ctx.paths.store_url or ctx.paths.store, ctx.settings, clocks=_host_clocks(ctx))
    _check_store(ctx)
    if args.once:
        try:
            summaries = asyncio.run(poller.run_once())
        except PollerBusy as exc:
            raise CliError(f"{exc}; not polling it twice") from None
        for s in summaries:
            print(s.line())
        return 0 if all(s.ok for s in summaries) else 1

    def on_event(ev: PollEvent) -> None:
        if ev.kind is PollEventKind.STORED and (ev.new or ev.changed):
            print(f"{_now()} {ev.source}: {ev.new} new, {ev.changed} edited", flush=True)
        elif ev.kind is PollEventKind.FAILED:
            print(f"{_now()} {ev.source}: {ev.message}", flush=True)
        elif ev.kind in (PollEventKind.WATCHING, PollEventKind.POLLING, PollEventKind.UNREACHABLE):
            print(f"{_now()} {ev.message}", flush=True)

    poller.on_event = on_event

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(sig) is signal.SIG_IGN:
                continue  # `nohup desk poll`: a hangup was meant to be ignored, and stays ignored
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, poller.stop)
        await poller.run()

    where = shown_url(ctx.paths.store_url) if ctx.paths.store_url else ctx.paths.store
    shared = (f" as poller {poller.name}, with any others there (each source leased for "
              f"{ctx.settings.poller.lease_seconds:g} s)" if ctx.paths.store_url else "")
    print(f"polling {sum(s.enabled for s in ctx.settings.sources)} sources into {where}{shared}; "
          "Ctrl-C stops", flush=True)
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass  # asyncio.run cancels at an await point: no transaction is ever half-done
    print("stopped", flush=True)
    return 0


def _check_store(ctx: Context) -> None:
    """Open and close the store once so a corrupt or too-new file is reported before any work."""
    _open_store(ctx).close()


def _now() -> str:
    return datetime.now(UTC).strftime("%H:%M:%S")


def cmd_sources(ctx: Context, args: argparse.Namespace) -> int:
    configured = {c.name for c in ctx.settings.sources}
    store = _open_store(ctx)
    try:
        store.sync_sources(ctx.settings.sources)
        if args.forget:
            name = _known_source(store, args.forget)
            if name in configured:
                raise CliError(f"{name} is in the settings ({ctx.settings.path}); remove it there first", EXIT_USAGE)
            try:
                gone = store.forget_source(name)
            except ValueError as exc:
                raise CliError(str(exc)) from None
            print(f"forgot {name} and its {gone:,} stored posts")
            return 0
        rows = store.sources()
    finally:
        store.close()
    if not rows:
        print("no sources: add [telegram] channels, [rss] feeds, [bluesky] or [mastodon] accounts to the settings "
              f"({ctx.settings.path or ctx.paths.config})")
        return 0
    for s in rows:
        last = fmt_utc(s.last_success) if s.last_success else "never"
        state = s.state if s.name in configured else "not in settings"
        line = f"{s.name:<32} {state:<15} {s.posts:>8} posts  last ok {last}"
        if s.reason:
            line += f"  errors {s.error_count}: {s.reason}"
        if s.warning:
            when = fmt_utc(s.warning_at) if s.warning_at else "?"
            line += f"  warning ({when}): {s.warning}"
        print(line)
    if any(s.name not in configured for s in rows):
        print("(not in settings: removed from the settings file or only imported; "
              "`desk sources --forget NAME` removes one and its posts)")
    return 0


def _known_source(store, typed: str) -> str:
    """A source name from a name, handle or label (as `source:` in a search), or a one-line error."""
    from deskapp.core.query import QueryError

    try:
        names = store.resolve_sources([typed])
    except QueryError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    if len(names) > 1:
        raise CliError(f"{typed!r} names several sources ({', '.join(names)}); give the full name", EXIT_USAGE)
    return names[0]


def cmd_check(ctx: Context, args: argparse.Namespace) -> int:
    from deskapp.core import store_check
    from deskapp.core.store import StoreError

    if ctx.paths.store_url:
        return _check_server(ctx, args)
    try:
        findings, posts = store_check.check(ctx.paths.store, repair=args.repair)
    except StoreError as exc:
        raise CliError(str(exc)) from None
    for f in findings:
        print(f"{ctx.paths.store}: {f.line()}")
    if not findings:
        from deskapp.core.store import on_read_only_fs

        checked = ("file and post counts checked; the search index cannot be checked on a read-only file system"
                   if on_read_only_fs(ctx.paths.store) else "file, search index and post counts checked")
        print(f"{ctx.paths.store}: ok ({posts:,} posts; {checked})")
    return 1 if any(not f.repaired for f in findings) else 0


def _check_server(ctx: Context, args: argparse.Namespace) -> int:
    """`desk check` of a PostgreSQL store: counters and indexes (core/pg/upkeep.py)."""
    from deskapp.core.pg.upkeep import check
    from deskapp.core.store import StoreError

    store = _open_store(ctx)
    try:
        findings, posts, checked = check(store, repair=args.repair)
    except StoreError as exc:
        raise CliError(str(exc)) from None
    finally:
        store.close()
    where = shown_url(ctx.paths.store_url or "")
    for f in findings:
        print(f"{where}: {f.line()}")
    if not findings:
        print(f"{where}: ok ({posts:,} posts; {checked})")
    return 1 if any(not f.repaired for f in findings) else 0


def cmd_search(ctx: Context, args: argparse.Namespace) -> int:
    from deskapp.core.query import QueryError

    if not 1 <= args.limit <= MAX_LIMIT:
        raise CliError(f"--limit must be between 1 and {MAX_LIMIT:,}", EXIT_USAGE)
    text_arg("search text", args.query)
    store = _open_store(ctx, readonly=ctx.paths.store.exists())
    try:
        hits = store.search(args.query, limit=args.limit)
    except QueryError as exc:
        raise CliError(f"search: {exc}", EXIT_USAGE) from None
    finally:
        store.close()
    for sp in hits:
        p = sp.post
        if args.json:
            print(json.dumps(p.to_json(), ensure_ascii=False))
        else:
            when = fmt_utc(p.published)
            text = " ".join(p.text.split())
            print(f"{when}  {p.url}  {text[:100]}")
    if not hits and not args.json:
        print("no matches", file=sys.stderr)
    return 0


def cmd_alerts(ctx: Context, args: argparse.Namespace) -> int:
    if not 1 <= args.limit <= MAX_LIMIT:
        raise CliError(f"--limit must be between 1 and {MAX_LIMIT:,}", EXIT_USAGE)
    since = _since(args.since) if args.since is not None else None
    store = _open_store(ctx, readonly=ctx.paths.store.exists())
    try:
        rows = store.alerts(since=since, limit=args.limit)
    finally:
        store.close()
    for row in rows:
        print(json.dumps(row.to_json(), ensure_ascii=False) if args.json else row.line())
    if not rows and not args.json:
        print("no alerts" + (f" since {since.strftime('%Y-%m-%d %H:%M UTC')}" if since else ""), file=sys.stderr)
    return 0


def _since(text: str) -> datetime:
    """--since: an age ("90m", "12h", "2d") or a time with a zone; one line when it is neither."""
    text_arg("--since", text)
    m = re.fullmatch(r"\s*(\d{1,6})\s*([smhd])\s*", text)
    if m:
        seconds = int(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
        return datetime.now(UTC) - timedelta(seconds=min(seconds, 3650 * 86400))
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise CliError(f"--since: {text!r} is neither a time (2026-12-02T08:00Z) nor an age (90m, 12h, 2d)",
                       EXIT_USAGE) from None
    if when.tzinfo is None:
        raise CliError(f"--since: {text!r} has no zone; add Z for UTC or an offset (+02:00)", EXIT_USAGE)
    return when.astimezone(UTC)


def cmd_cite(ctx: Context, args: argparse.Namespace) -> int:
    from deskapp.core import cite
    from deskapp.core.verify import cite_facts

    _need_posts(args, "cite")

    options, templates = cite_settings(ctx.settings, args)  # the command line's mistakes first
    store = _open_store(ctx, readonly=ctx.paths.store.exists())
    try:
        # The desk's kept format, heading and options (F, H, O in the desk), under the command line's.
        options, templates = cite_settings(ctx.settings, args, store.desk_prefs())
        posts = _named_posts(ctx, store, args)
        facts = cite_facts(store, [(sp.post.source, sp.post.id) for sp in posts]) \
            if options.checked or options.archive else {}
        firsts = store.earliest_posts(posts) if options.earliest else {}
    finally:
        store.close()
    result = cite.render(posts, options, templates, verified=facts, earliest=firsts)
    sys.stdout.write(result.text if result.text.endswith("\n") else result.text + "\n")
    for r in result.refused:
        print(f"desk: refused {r.what} of {r.post}: {r.url}: {r.reason}", file=sys.stderr)
    return 0


def _named_posts(ctx: Context, store, args: argparse.Namespace, *, pins: bool | None = None) -> list:
    """The stored posts a command names: the pins (with --pins), then each POST in the order given."""
    from deskapp.core import cite

    posts = []
    if getattr(args, "pins", False) if pins is None else pins:
        posts.extend(sp for _pin, sp in store.pins())
    for ref in args.posts:
        text_arg("post", ref, max_chars=2_000)
        try:
            source, post_id = cite.parse_post_ref(ref)
        except ValueError as exc:
            # A permalink of another kind (RSS, Bluesky, Mastodon) names its post by the link itself.
            sp = store.get_by_url(ref.strip()) if ref.strip().lower().startswith(("https://", "http://")) else None
            if sp is None:
                raise CliError(str(exc), EXIT_USAGE) from None
            posts.append(sp)
            continue
        sp = store.get(source, post_id)
        if sp is None:
            raise CliError(f"{ref}: not in the store ({ctx.paths.store}); poll or import it first")
        posts.append(sp)
    return posts


def _need_posts(args: argparse.Namespace, what: str) -> None:
    if not args.posts and not args.pins:
        raise CliError(f"name posts to {what} (permalinks or channel/id), or give --pins", EXIT_USAGE)


def _host_clocks(ctx: Context):
    """Per-host turns shared through the state folder with every desk process on this machine
    (`desk poll`, the desk, `desk verify`): together they are as polite as one client."""
    from deskapp.core.fetch import HostClocks

    return HostClocks(ctx.paths.state / "hosts")


def _run_checks(ctx: Context, store, posts: list, *, kind: CheckKind, on_check=None) -> list:
    """Capture or re-check `posts` under the poller's politeness (floored for the hosts asked)."""
    from deskapp.core.evidence import FetchLimits
    from deskapp.core.verify import Verifier, base_resolver, targets_for

    targets = targets_for(posts, base_resolver(store, ctx.settings.sources, ctx.settings.base_url))
    limits = FetchLimits.of(ctx.settings.poller, [t.base_url for t in targets])
    verifier = Verifier(store, limits, on_check=on_check, clocks=_host_clocks(ctx))
    run = verifier.capture if kind is CheckKind.CAPTURE else verifier.recheck
    return asyncio.run(run(targets))


def _check_line(check, permalink: str) -> str:
    from deskapp.core.model import utc_iso

    line = f"{check.source}/{check.post_id}  {check.result.label:<20} {utc_iso(check.checked)}  {permalink}"
    return line + (f"\n    {check.detail}" if check.detail else "")


def cmd_pin(ctx: Context, args: argparse.Namespace) -> int:
    from deskapp.core.cite import permalink
    from deskapp.core.evidence import Result

    note = text_arg("--note", args.note, max_chars=10_000)
    store = _open_store(ctx)
    try:
        posts = _named_posts(ctx, store, args, pins=False)
        for sp in posts:
            store.pin(sp.post.source, sp.post.id, note)
        print(f"pinned {len(posts)} post{'s' if len(posts) != 1 else ''} on desk {store.desk}", flush=True)
        if args.no_capture:
            return 0
        links = {(sp.post.source, sp.post.id): permalink(sp.post) for sp in posts}
        checks = _run_checks(ctx, store, posts, kind=CheckKind.CAPTURE,
                             on_check=lambda c: print(_check_line(c, links[(c.source, c.post_id)]), flush=True))
    finally:
        store.close()
    failed = [c for c in checks if c.result is not Result.CAPTURED]
    if failed:
        print(f"desk: {len(failed)} capture{'s' if len(failed) != 1 else ''} failed (the pins are kept; "
              "`desk verify --pins` tries again)", file=sys.stderr)
        return 1
    return 0


def cmd_unpin(ctx: Context, args: argparse.Namespace) -> int:
    store = _open_store(ctx)
    try:
        posts = _named_posts(ctx, store, args, pins=False)
        for sp in posts:
            store.unpin(sp.post.source, sp.post.id)
        print(f"unpinned {len(posts)} post{'s' if len(posts) != 1 else ''} from desk {store.desk}")
    finally:
        store.close()
    return 0


def cmd_pins(ctx: Context, args: argparse.Namespace) -> int:
    from deskapp.core.cite import permalink
    from deskapp.core.evidence import EvidenceLog
    from deskapp.core.model import age_text, utc_iso
    from deskapp.core.store import NotSupported

    store = _open_store(ctx, readonly=ctx.paths.store.exists())
    try:
        pins = store.pins()
        try:
            latest = EvidenceLog(store).latest([(sp.post.source, sp.post.id) for _p, sp in pins]) if pins else {}
        except NotSupported:  # checks are not kept on PostgreSQL yet: the pins are listed all the same
            latest = {}
            print("desk: the pins' checks are not on PostgreSQL yet", file=sys.stderr)
    finally:
        store.close()
    for pin, sp in pins:
        check = latest.get((sp.post.source, sp.post.id))
        if args.json:
            print(json.dumps({"position": pin.position + 1, "post": f"{sp.post.source}/{sp.post.id}",
                              "permalink": permalink(sp.post), "published": utc_iso(sp.post.published),
                              "note": pin.note, "pinned_at": utc_iso(pin.pinned_at),
                              "last_check": check.to_json() if check else None}, ensure_ascii=False))
        else:
            last = f"{check.result.label} {age_text(check.checked)}" if check else "never checked"
            note = f"  note: {pin.note}" if pin.note else ""
            print(f"{pin.position + 1:>3}. {permalink(sp.post)}  {fmt_utc(sp.post.published)}  [{last}]{note}")
    if not pins and not args.json:
        print("no pins", file=sys.stderr)
    return 0


def cmd_verify(ctx: Context, args: argparse.Namespace) -> int:
    from deskapp.core.cite import permalink
    from deskapp.core.evidence import Result

    _need_posts(args, "re-check")
    store = _open_store(ctx)
    try:
        posts = _named_posts(ctx, store, args)
        links = {(sp.post.source, sp.post.id): permalink(sp.post) for sp in posts}

        def show(c) -> None:
            if args.json:
                print(json.dumps({**c.to_json(), "permalink": links[(c.source, c.post_id)]}, ensure_ascii=False),
                      flush=True)
            else:
                print(_check_line(c, links[(c.source, c.post_id)]), flush=True)

        checks = _run_checks(ctx, store, posts, kind=CheckKind.RECHECK, on_check=show)
    finally:
        store.close()
    if not posts and not args.json:
        print("no posts to re-check", file=sys.stderr)
    return 0 if all(c.result is Result.UNCHANGED for c in checks) else 1


def cmd_evidence(ctx: Context, args: argparse.Namespace) -> int:
    from deskapp.core.warc import write_evidence

    _need_posts(args, "put in the evidence file")
    out = Path(args.output).expanduser()
    if not out.parent.is_dir():
        raise CliError(f"{out}: no such folder {out.parent}", EXIT_USAGE)
    store = _open_store(ctx, readonly=ctx.paths.store.exists())
    try:
        posts = _named_posts(ctx, store, args)
        try:
            summary = write_evidence(store, posts, out)
        except OSError as exc:
            raise CliError(f"{out}: cannot write: {exc.strerror or exc}") from None
    finally:
        store.close()
    print(f"{out}: {summary.posts} posts, {summary.checks} checks, {summary.exchanges} HTTP exchanges"
          + (f", {summary.unanswered} without an answer (in the manifest)" if summary.unanswered else ""))
    return 0


def cmd_archive(ctx: Context, args: argparse.Namespace) -> int:
    from deskapp.core.archive import Archiver, archive_limits
    from deskapp.core.cite import permalink
    from deskapp.core.evidence import FetchLimits

    _need_posts(args, "archive")
    cfg = ctx.settings.verify
    store = _open_store(ctx)
    try:
        posts = _named_posts(ctx, store, args)
        limits = archive_limits(FetchLimits.of(ctx.settings.poller, [cfg.archive]), cfg.archive, cfg.archive_gap)

        def show(snap) -> None:
            what = f"archived: {snap.snapshot}" if snap.snapshot else f"not archived: {snap.error}"
            print(f"{snap.source}/{snap.post_id}  {what}", flush=True)

        print(f"asking {cfg.archive} for {len(posts)} post{'s' if len(posts) != 1 else ''}, one at a time "
              f"({limits.min_gap:g} s apart)", flush=True)
        snaps = asyncio.run(Archiver(store, limits, cfg.archive, on_result=show, clocks=_host_clocks(ctx)).save(
            [(sp.post.source, sp.post.id, permalink(sp.post)) for sp in posts]))
    finally:
        store.close()
    return 0 if all(s.snapshot for s in snaps) else 1


def cite_settings(settings: Settings, args: argparse.Namespace, prefs: dict | None = None):
    """The settings' citation options, with what the desk kept (`prefs`: format, heading, options)
    and then the command line's overrides applied."""
    from deskapp.core.cite import FORMATS, set_heading
    from deskapp.core.desks import cite_overrides, kept_options

    prefs = prefs or {}
    over: dict[str, object] = {"fmt": prefs["format"]} if prefs.get("format") in FORMATS else {}
    over.update(cite_overrides(kept_options(prefs)))
    if args.fmt:
        if args.fmt not in FORMATS:
            # The command line's mistake: name the option, not the settings file.
            raise CliError(f"--format: unknown format {args.fmt!r}; known: {', '.join(FORMATS)}", EXIT_USAGE)
        over["fmt"] = args.fmt
    for name in ("excerpt", "views", "archive", "sha256", "checked", "earliest"):
        if getattr(args, name, None):
            over[name] = True
    if args.no_notes:
        over["notes"] = False
    if args.chronological:
        over["order"] = "chronological"
    try:
        options, templates = config_mod.cite_objects(settings, over)
    except ConfigError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    if isinstance(prefs.get("heading"), str) and (problem := set_heading(templates, prefs["heading"])):
        print(f"desk: the desk's {problem}", file=sys.stderr)
    return options, templates


def cmd_db(ctx: Context, args: argparse.Namespace) -> int:
    from deskapp.core.store import StoreError

    if args.db_action == "migrate":
        store = _open_store(ctx)  # opening read-write applies what migrations are missing
        try:
            print(f"{store.path}: schema version {store.schema_version} (up to date)")
        finally:
            store.close()
        return 0
    from deskapp.core.pg.copy import copy_store

    src_name, dst_name = text_arg("SRC", args.src), text_arg("DST", args.dst)
    if not is_pg_url(src_name) and not sqlite_path(src_name).is_file():
        raise CliError(f"{src_name}: no such store file", EXIT_USAGE)
    try:
        with open_store(src_name, desk=ctx.desk) as src, open_store(dst_name, desk=ctx.desk) as dst:
            def progress(table: str, rows: int) -> None:
                print(f"\r{table}: {rows:,} rows", end="", file=sys.stderr, flush=True)

            tables = copy_store(src, dst, progress)
            print(file=sys.stderr)
    except StoreError as exc:
        print(file=sys.stderr)
        raise CliError(str(exc)) from None
    for t in tables:
        print(f"{t.table:<15} {t.rows:>10,} rows  sha256 {t.checksum}")
    print(f"copied {shown_url(src_name)} -> {shown_url(dst_name)}: every table's rows and checksum match")
    return 0


def cmd_desk(ctx: Context, args: argparse.Namespace) -> int:
    if args.demo and is_pg_url(args.db):
        raise CliError("--demo runs on a store of its own; leave out --db postgresql://...", EXIT_USAGE)
    if args.demo:
        _need_terminal()
        from deskapp.demo import demo_wire

        _setup_logging(ctx.paths, args.verbose, log=ctx.paths.demo_log)
        with demo_wire(ctx.settings, ctx.paths, db=Path(args.db).expanduser() if args.db else None) as demo:
            _start_desk(demo.settings, demo.paths, poll=not args.no_poll, desk=ctx.desk, banner=demo.banner)
        print(f"Demo over: its temporary folder is removed; its log is {ctx.paths.demo_log}", file=sys.stderr)
        return 0
    _check_store(ctx)
    _need_terminal()
    _start_desk(ctx.settings, ctx.paths, poll=not args.no_poll, desk=ctx.desk)
    return 0


def _need_terminal() -> None:
    if not sys.stdout.isatty() and not os.environ.get("DESK_FORCE_UI"):
        raise CliError("the desk needs a terminal; for headless use see `desk poll`, `desk search`, `desk cite`")


def _start_desk(settings: Settings, paths: Paths, *, poll: bool, desk: str, banner: str | None = None) -> None:
    """Run the desk until the editor quits (both paths: the configured wire and the demo's)."""
    from deskapp.ui.app import DeskApp

    DeskApp(settings=settings, paths=paths, poll=poll, demo_banner=banner, desk=desk).run()


COMMANDS = {
    "locate": cmd_locate,
    "parse": cmd_parse,
    "import": cmd_import,
    "poll": cmd_poll,
    "sources": cmd_sources,
    "check": cmd_check,
    "search": cmd_search,
    "alerts": cmd_alerts,
    "cite": cmd_cite,
    "pin": cmd_pin,
    "unpin": cmd_unpin,
    "pins": cmd_pins,
    "verify": cmd_verify,
    "evidence": cmd_evidence,
    "archive": cmd_archive,
    None: cmd_desk,
    "db": cmd_db,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        ctx = load_context(args)
        _setup_logging(ctx.paths, args.verbose)
        if ctx.paths.store_url and args.command not in ON_POSTGRESQL:
            raise CliError(f"desk {args.command or ''}: not supported on PostgreSQL yet "
                           f"(store {shown_url(ctx.paths.store_url)})".replace("desk :", "desk:"))
        return COMMANDS[args.command](ctx, args)
    except ConfigError as exc:
        print(f"desk: config error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CliError as exc:
        print(f"desk: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `desk search x | head`: the reader went away; not an error worth a traceback.
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        except OSError:
            pass
        return 0
    except Exception as exc:  # last resort: one line for the user, the traceback in the log
        from deskapp.core.store import StoreError

        if isinstance(exc, StoreError):  # a store fault found mid-command (a damaged index, a full disk)
            print(f"desk: {exc}", file=sys.stderr)
            return 1
        logging.getLogger("desk").exception("unexpected error")
        print(f"desk: unexpected error: {type(exc).__name__}: {exc} (details in the log, see `desk locate`)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
