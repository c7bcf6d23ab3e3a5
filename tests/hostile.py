"""A generator of hostile post content, shared by the hardening tests.

Each case is text an attacker could publish in a public channel. `HOSTILE_TEXTS` are plain strings
(served HTML-escaped, so the raw control bytes travel in the page); `HOSTILE_HTML` are HTML snippets
placed in the message body as they are (character references, nested markup, links).
"""

from __future__ import annotations

from datetime import timedelta

from deskapp.demo.tme import FakeChannel, FakePost
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
    fwd = FakePost(i, T0 + timedelta(minutes=i), "forwarded from a javascript: link")
    fwd.forwarded = ("[@click=app.quit]Origin", "javascript:alert(1)")
    ch.posts.append(fwd)
    return ch


def is_terminal_safe(text: str) -> bool:
    """No C0 (but \\n, \\t), DEL, C1 or bidi override in `text`."""
    for c in text:
        o = ord(c)
        if (o < 32 and c not in "\n\t") or 0x7F <= o <= 0x9F or c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069":
            return False
    return True
