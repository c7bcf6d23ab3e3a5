"""Settings: the documented shapes load, and every mistake is one clear line naming file and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deskapp import config
from deskapp.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "desk.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_minimal_shape_from_the_issue(tmp_path: Path) -> None:
    s = config.load(write(tmp_path, '[telegram]\nbase_url = "https://t.me"\nchannels = ["osintdefender", "ClashReport"]\n'))
    assert [src.name for src in s.sources] == ["telegram:osintdefender", "telegram:clashreport"]
    assert s.sources[1].handle == "ClashReport"
    assert s.sources[1].url == "https://t.me/s/ClashReport"


def test_per_channel_tables_inline_and_table_form(tmp_path: Path) -> None:
    s = config.load(write(tmp_path, """
[telegram]
base_url = "http://127.0.0.1:8080/"
channels = ["a_channel", { name = "@Second", label = "Second one", interval = 90, enabled = false }]
"""))
    a, b = s.sources
    assert a.enabled and a.interval is None and a.base_url == "http://127.0.0.1:8080"
    assert (b.handle, b.label, b.interval, b.enabled) == ("Second", "Second one", 90.0, False)
    s2 = config.load(write(tmp_path, '[telegram.channels.durov]\nlabel = "Durov"\n[telegram.channels.other]\n'))
    assert [x.name for x in s2.sources] == ["telegram:durov", "telegram:other"]
    assert s2.sources[0].label == "Durov"


def test_example_config_loads() -> None:
    s = config.load(ROOT / "config.example.toml")
    assert len(s.sources) == 2 and s.cite.format == "text"


def test_missing_file_gives_defaults_unless_required(tmp_path: Path) -> None:
    assert config.load(tmp_path / "nope.toml").sources == []
    with pytest.raises(ConfigError, match="file not found"):
        config.load(tmp_path / "nope.toml", must_exist=True)


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ('[telegram]\nchannels = "durov"\n', "telegram.channels", "must be a list"),
        ('[telegram]\nchannels = ["bad name!"]\n', "telegram.channels[0]", "not a Telegram channel name"),
        ('[telegram]\nchannels = ["durov", "Durov"]\n', "telegram.channels[1]", "listed twice"),
        ('[telegram]\nchannels = [{ name = "x1", interval = "fast" }]\n', "telegram.channels[0].interval", "number"),
        ('[telegram]\nchannels = [{ name = "x1", colour = 1 }]\n', "telegram.channels[0].colour", "unknown setting"),
        ('[telegram]\nbase_url = "ftp://x"\n', "telegram.base_url", "http(s) URL"),
        ('[poller]\ntimeout = -1\n', "poller.timeout", "at least 2 for a real host"),
        ('[poller]\nbackfill_pages = 2.5\n', "poller.backfill_pages", "whole number"),
        ('[poller]\nlease_seconds = 0.2\n', "poller.lease_seconds", "at least 1"),
        ('[poller]\nlease_seconds = "long"\n', "poller.lease_seconds", "number"),
        ('[poller]\naddress = ""\n', "poller.address", "one line"),
        ('[poller]\naddress = "a\\nb"\n', "poller.address", "one line"),
        ('[ui]\ntime = "mars"\n', "ui.time", '"utc" or "local"'),
        ('[keys]\nexplode = "x"\n', "keys.explode", "unknown binding id"),
        ('[mystery]\na = 1\n', "mystery", "unknown setting"),
    ],
)
def test_errors_name_file_key_and_problem(tmp_path: Path, text: str, key: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        config.load(path)
    msg = str(info.value)
    assert str(path) in msg and key in msg and problem in msg
    assert "\n" not in msg


def test_many_pollers_settings(tmp_path: Path) -> None:
    s = config.load(write(tmp_path, '[poller]\nlease_seconds = 12\naddress = "newsroom-nat"\n'))
    assert (s.poller.lease_seconds, s.poller.address) == (12.0, "newsroom-nat")
    assert config.load(write(tmp_path, "")).poller.lease_seconds == 30.0


def test_toml_syntax_error_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[telegram]\nchannels = [\n"a",,\n]\n')
    with pytest.raises(ConfigError, match=r"invalid TOML.*line 3"):
        config.load(path)


def test_key_overrides_are_kept(tmp_path: Path) -> None:
    s = config.load(write(tmp_path, '[keys]\npin = "p, space"\n'))
    assert s.keys == {"pin": "p,space"}


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[cite]\nformat = "pdf"\n', "cite.format"),
        ('[cite]\norder = "newest"\n', "cite.order"),
        ('[cite]\nline = "{chanel} {url}"\n', "cite.line"),
        ('[cite]\nline = "{who}"\n', "{url}"),
        ('[cite]\nsparkle = true\n', "cite.sparkle"),
    ],
)
def test_cite_table_is_validated_at_load(tmp_path: Path, text: str, needle: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        config.load(path)
    assert str(path) in str(info.value) and needle in str(info.value)


def test_cite_objects_apply_overrides(tmp_path: Path) -> None:
    s = config.load(write(tmp_path, '[cite]\nformat = "markdown"\nexcerpt = true\nheading = "Sources"\n'))
    opts, tmpl = config.cite_objects(s, {"order": "chronological"})
    assert (opts.fmt, opts.excerpt, opts.order, tmpl.heading) == ("markdown", True, "chronological", "Sources")


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("[poller]\ntimeout = nan\n", "poller.timeout", "finite number"),
        ("[poller]\nmin_gap = inf\n", "poller.min_gap", "finite number"),
        ("[poller]\nbackoff_max = -inf\n", "poller.backoff_max", "finite number"),
        ("[poller]\nbackoff_base = " + "9" * 400 + "\n", "poller.backoff_base", "finite number"),
        ("[telegram]\ninterval = nan\n", "telegram.interval", "finite number"),
        ("[poller]\nmin_gap = 0.1\n", "poller.min_gap", "at least 1 for a real host"),
        ("[poller]\nbackoff_base = 1\n", "poller.backoff_base", "at least 10"),
        ("[poller]\nmin_interval = 1\n", "poller.min_interval", "at least 30"),
        ("[poller]\nbackoff_base = 600\nbackoff_max = 300\n", "poller.backoff_base", "not be larger"),
        ("[poller]\nbackfill_pages = 100000\n", "poller.backfill_pages", "at most 50"),
        ("[poller]\nmax_body = " + "9" * 30 + "\n", "poller.max_body", "at most"),
        ('[telegram]\nchannels = [{ name = "durov", interval = 1 }]\n', "telegram.channels[0].interval", "at least 30"),
        ('[telegram]\nchannels = ["https://t.me/durov/123"]\n', "telegram.channels[0]", "a post link"),
        ('[telegram]\nchannels = ["https://t.me/s/durov/123"]\n', "telegram.channels[0]", "a post link"),
        ('[telegram]\nchannels = ["ok_one", "https://t.me/joinchat/AAAAAEk"]\n', "telegram.channels[1]", "invite"),
        ('[telegram]\nchannels = ["t.me/+AbCdEf"]\n', "telegram.channels[0]", "invite"),
        ('[telegram]\nchannels = ["https://t.me/c/1234/56"]\n', "telegram.channels[0]", "invite or service"),
        ('[telegram]\nchannels = ["https://evil.example/durov"]\n', "telegram.channels[0]", "not a t.me link"),
        ('[telegram]\nchannels = ["https://t.me.evil.example/durov"]\n', "telegram.channels[0]", "not a t.me link"),
        ('[telegram]\nchannels = ["https://t.me/durov?before=5"]\n', "telegram.channels[0]", "not a plain"),
        ('[telegram]\nchannels = ["javascript:alert(1)"]\n', "telegram.channels[0]", "not a t.me link"),
        ('[telegram]\nchannels = ["12345"]\n', "telegram.channels[0]", "not a Telegram channel name"),
        ('[telegram.channels."t.me/durov/5"]\n', "telegram.channels.t.me/durov/5", "a post link"),
    ],
)
def test_unsafe_values_are_refused_naming_the_key(tmp_path: Path, text: str, key: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        config.load(path)
    msg = str(info.value)
    assert key in msg and problem in msg, msg
    assert "\n" not in msg and len(msg) < 300


def test_channel_links_to_the_channel_itself_are_accepted(tmp_path: Path) -> None:
    s = config.load(write(tmp_path, '[telegram]\nchannels = ["@one_chan", "t.me/two_chan", '
                                    '"https://t.me/s/three_chan/", "https://telegram.me/four_chan"]\n'))
    assert [x.handle for x in s.sources] == ["one_chan", "two_chan", "three_chan", "four_chan"]


def test_loopback_base_url_may_go_below_the_floors(tmp_path: Path) -> None:
    s = config.load(write(tmp_path, '[telegram]\nbase_url = "http://127.0.0.1:9"\ninterval = 0.5\n'
                                    'channels = ["one_chan"]\n[poller]\nmin_gap = 0\ntimeout = 0.5\nbackoff_base = 0.1\n'))
    assert (s.poller.min_gap, s.poller.timeout, s.sources[0].interval) == (0.0, 0.5, 0.5)


@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "big", "deep"])
def test_settings_that_are_not_a_small_file_end_with_one_line(tmp_path: Path, special: str) -> None:
    import os

    if special == "/dev/zero":
        path = Path(special)
    elif special == "fifo":
        path = tmp_path / "fifo.toml"
        os.mkfifo(path)  # opening it for reading would block until a writer came
    elif special == "big":
        path = write(tmp_path, "# " + "x" * 2_000_000 + "\n")
    else:
        path = write(tmp_path, "a = " + "[" * 200_000 + "]" * 200_000 + "\n")
    with pytest.raises(ConfigError) as info:
        config.load(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_settings_made_in_code_are_clamped_for_real_hosts() -> None:
    from deskapp.config import PollerSettings
    from deskapp.core import politeness

    wild = PollerSettings(min_gap=0.0, timeout=float("nan"), backoff_base=float("inf"), interval=-5.0,
                          backfill_pages=10**6)
    real = politeness.clamped(wild, ["https://t.me"])
    assert real.min_gap >= 1.0 and real.timeout == 20.0 and real.backoff_base == 30.0
    assert real.interval >= 30.0 and real.backfill_pages == politeness.BACKFILL_PAGES_MAX
    local = politeness.clamped(wild, ["http://127.0.0.1:8080"])
    assert local.min_gap == 0.0 and local.timeout == 20.0


def test_add_channel_keeps_the_file_and_refuses_bad_names(tmp_path):
    from deskapp.config import ConfigError, add_channel, load

    path = tmp_path / "conf" / "config.toml"
    assert add_channel(path, "@durov").name == "telegram:durov"  # created with its folder
    path.write_text('# my desk\n[telegram]\nchannels = ["durov"]  # the first\n\n[ui]\ntime = "local"\n')
    assert add_channel(path, "https://t.me/Some_Chan").handle == "Some_Chan"
    text = path.read_text()
    assert "# my desk" in text and "# the first" in text and 'time = "local"' in text
    assert [s.handle for s in load(path).sources] == ["durov", "Some_Chan"]
    for bad, says in (("durov", "already in the settings"), ("two words", "not a Telegram channel name"),
                      ("  ", "type a channel name")):
        with pytest.raises(ConfigError, match=says):
            add_channel(path, bad)
    assert path.read_text() == text  # untouched by a refusal
    path.write_text('[telegram.channels.durov]\nlabel = "D"\n')
    add_channel(path, "other_one")
    assert [(s.handle, s.label) for s in load(path).sources] == [("durov", "D"), ("other_one", None)]


def test_other_kinds_strings_and_tables() -> None:
    s = config.parse({
        "rss": {"feeds": ["https://feeds.example.org/news.xml",
                          {"url": "https://cp.example.gov/a.xml", "label": "CP", "interval": 120,
                           "base_url": "http://127.0.0.1:9"}]},
        "bluesky": {"accounts": ["bsky.app", "@did:plc:abc123", {"name": "alerts.example.org", "enabled": False}]},
        "mastodon": {"accounts": ["@fire@social.example", "https://town.example/@Mayor"]},
    })
    by_name = {c.name: c for c in s.sources}
    rss = by_name["rss:https://cp.example.gov/a.xml"]
    assert (rss.kind, rss.label, rss.interval, rss.base_url) == ("rss", "CP", 120.0, "http://127.0.0.1:9")
    assert by_name["rss:https://feeds.example.org/news.xml"].base_url == "https://feeds.example.org"
    assert by_name["bluesky:bsky.app"].base_url == "https://public.api.bsky.app"
    assert "bluesky:did:plc:abc123" in by_name and not by_name["bluesky:alerts.example.org"].enabled
    assert by_name["mastodon:fire@social.example"].base_url == "https://social.example"
    assert by_name["mastodon:mayor@town.example"].handle == "@Mayor@town.example"
    assert by_name["mastodon:fire@social.example"].url == "https://social.example/@fire"


@pytest.mark.parametrize(("raw", "message"), [
    ({"rss": {"feeds": ["ftp://x"]}}, "rss.feeds[0]: 'ftp://x' is not an http(s) feed URL"),
    ({"bluesky": {"accounts": ["not a handle"]}}, "is not a Bluesky handle"),
    ({"mastodon": {"accounts": ["fire"]}}, "is not a Mastodon account (@user@instance)"),
    ({"rss": {"feeds": [{"label": "x"}]}}, 'an inline table needs url = "..."'),
    ({"rss": {"feeds": ["https://a.example/f"], "bogus": 1}}, "rss.bogus: unknown setting"),
    ({"rss": {"feeds": [{"url": "https://a.example/f", "interval": 1}]}}, "must be at least 30 for a real host"),
    ({"bluesky": {"accounts": ["a.example.org", "@A.example.org"]}}, "is listed twice"),
])
def test_other_kinds_errors(raw: dict, message: str) -> None:
    with pytest.raises(config.ConfigError, match=re.escape(message)):
        config.parse(raw)
