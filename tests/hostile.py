"""A generator of hostile post content, shared by the hardening tests.

Each case is text an attacker could publish in a public channel. `HOSTILE_TEXTS` are plain strings
(served HTML-escaped, so the raw control bytes travel in the page); `HOSTILE_HTML` are HTML snippets
placed in the message body as they are (character references, nested markup, links).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from deskapp.demo.tme import FakeChannel, FakePost, render_page, render_post
from tests.wire import T0

ESC = "\x1b"
HOSTILE_TEXTS: dict[str, str] = {
    "osc52": f"copy me {ESC}]52;c;ZXZpbCBjbGlwYm9hcmQ={ESC}\\ done",
    "osc52_bel": f"copy me {ESC}]52;c;ZXZpbA==\x07 done",
    "osc8": f"{ESC}]8;;https://evil.example/{ESC}\\click{ESC}]8;;{ESC}\\ here",
    "title": f"{ESC}]0;HACKED TITLE\x07 title change",
    "csi": f"{ESC}[2J{ESC}[H{ESC}[31mred{ESC}[0m clear screen",
    "c1": "c1 csi \x9b31m and osc \x9d0;t\x9c and nel \x85 end",
    "bell": "bell \x07\x07 and backspace \x08\x08 and nul \x00",
    "markup_click": "[@click=app.quit]quit[/] the desk",
    "markup_space": "[ @click=app.quit]quit[/] the desk",
    "markup_rich": "[bold red on white blink]LOUD[/] [link=https://evil.example]x[/link]",
    "markup_escape_bypass": "\\[@click=app.quit]x\\[/]",
    "bidi": "invoice \u202efdp.exe\u202c and \u2066isolate\u2069",
    "zero_width": "zero\u200bwidth\u200cjoiners\u200d\ufeff",
}

HOSTILE_HTML: dict[str, str] = {
    "charref_esc": "ref &#27;]52;c;ZXZpbA==&#7; and &#x1b;[31mred and &#155;31m",
    "js_link": '<a href="javascript:alert(1)">javascript link</a>',
    "data_link": '<a href="data:text/html;base64,PHNjcmlwdD4=">data link</a>',
    "bidi_link": '<a href="https://t.me/\u202eevil/1">bidi link</a>',
    "nested": "<b>" * 400 + "deep" + "</b>" * 400,  # under the parser's depth limit; deeper is refused
    "script": "<script>alert(1)</script>visible<style>x{}</style>",
}


def hostile_channel(handle: str = "hostile_chan") -> FakeChannel:
    """One channel whose posts, names and forward links carry every hostile case."""
    ch = FakeChannel(handle, f"Evil {ESC}]0;title\x07 [@click=app.quit]Name\u202e", "about [b]x[/b]")
    i = 0
    for _name, text in HOSTILE_TEXTS.items():
        i += 1
        ch.posts.append(FakePost(i, T0 + timedelta(minutes=i), text, author=f"sig {ESC}[31m\u202e"))
    for _name, snippet in HOSTILE_HTML.items():
        i += 1
        ch.posts.append(FakePost(i, T0 + timedelta(minutes=i), "", raw_text_html=snippet))
    i += 1
    # A forward link that carries a whole OSC 52 clipboard write, a bidi override and a zero-width
    # space: stored percent-encoded, so the details screen shows the link and the terminal obeys nothing.
    esc_fwd = FakePost(i, T0 + timedelta(minutes=i), "forwarded with an escape in the link",
                       views=f"1{ESC}[31m.2K\u202e")
    esc_fwd.forwarded = (f"Origin {ESC}]0;t\x07", f"https://t.me/or{ESC}]52;c;Zm9yd2FyZA==\x07ig\u202e\u200bin/5")
    ch.posts.append(esc_fwd)
    i += 1
    fwd = FakePost(i, T0 + timedelta(minutes=i), "forwarded from a javascript: link")
    fwd.forwarded = ("[@click=app.quit]Origin", "javascript:alert(1)")
    ch.posts.append(fwd)  # last: the hardening tests cite it as posts[-1]
    return ch


def page_mixing(asked: FakeChannel, foreign: list[tuple[FakeChannel, FakePost]]) -> str:
    """The preview page of `asked` with message blocks of other channels slipped in among its own."""
    extra = "".join(render_post(ch, p) for ch, p in foreign)
    return render_page(asked, asked.posts).replace("</section>", extra + "</section>", 1)


EDGE_T = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
# Post id -> what is wrong with it on `edge_values_page`; ids not listed are sound.
EDGE_REFUSED = {102: "year 1 at +05:00", 103: "9999-12-31 at -05:00", 106: "id 0", 107: "id 2^64",
                109: "year 9999 at +00:00", 110: "year 1 at +00:00"}
EDGE_KEPT = {101: "sound", 104: "views past int64", 105: "views of 400 digits (infinity)", 108: "sound"}
EDGE_HANDLE = "edgy"


def edge_values_page(handle: str = EDGE_HANDLE) -> str:
    """One page with every edge value: times at year 1 and 9999 (with offsets that leave datetime's
    range, and without), view counts past int64 and of 400 digits, ids of 0 and 2^64, and cursors of
    10^30 in both rel=prev and data-before. Its sound posts are EDGE_KEPT."""
    ch = FakeChannel(handle, "Edgy")
    for i in range(101, 111):
        ch.posts.append(FakePost(i, EDGE_T + timedelta(minutes=i), f"edge post {i}", views="5"))
    ch.posts[3].views = "9" * 25
    ch.posts[4].views = "9" * 400
    html = render_page(ch, ch.posts)

    def retime(pid: int, value: str) -> None:
        nonlocal html
        old = (EDGE_T + timedelta(minutes=pid)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        html = html.replace(f'datetime="{old}"', f'datetime="{value}"')

    retime(102, "0001-01-01T00:00:00+05:00")
    retime(103, "9999-12-31T23:59:59-05:00")
    retime(109, "9999-12-31T23:59:59+00:00")
    retime(110, "0001-01-01T00:00:00+00:00")
    html = html.replace(f'data-post="{handle}/106"', f'data-post="{handle}/0"')
    html = html.replace(f'data-post="{handle}/107"', f'data-post="{handle}/{2**64}"')
    big = str(10**30)
    return html.replace("?before=101", f"?before={big}").replace('data-before="101"', f'data-before="{big}"')


def is_terminal_safe(text: str) -> bool:
    """No C0 (but \\n, \\t), DEL, C1 or bidi override in `text`."""
    for c in text:
        o = ord(c)
        if (o < 32 and c not in "\n\t") or 0x7F <= o <= 0x9F or c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069":
            return False
    return True
