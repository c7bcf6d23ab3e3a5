"""Settings: the documented shapes load, and every mistake is one clear line naming file and key."""

from __future__ import annotations

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
        ('[poller]\ntimeout = -1\n', "poller.timeout", "at least 0"),
        ('[poller]\nbackfill_pages = 2.5\n', "poller.backfill_pages", "whole number"),
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
