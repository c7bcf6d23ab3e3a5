"""HTML fragments (Mastodon statuses, RSS/Atom summaries) as plain text.

Lines break where a reader sees them break: `<br>` is a newline, a paragraph, list item, heading or
quote ends with a blank line. Link text is kept whole: Mastodon hides the scheme and the tail of long
links in `<span class="invisible">`, and the whole URL is what a citation needs. Scripts and styles
are never text. The result still goes through `sanitize.clean_text` at the caller, like every field.
"""

from __future__ import annotations

import re
from html import unescape

from selectolax.lexbor import LexborHTMLParser

from deskapp.core.sources.telegram import MAX_DEPTH
from deskapp.core.sources.telegram import _nesting_depth as _nesting_depth  # the one depth measure

_BLOCKS = "p, div, li, blockquote, h1, h2, h3, h4, h5, h6, pre, tr, dt, dd, figcaption"
_DROP = "script, style, noscript, template, head, title"
_TAG = re.compile(r"<[^>]*>")
_SPACE = " \t\u00a0"


def html_to_text(html: str | None) -> str:
    """The text a reader sees in an HTML fragment, with line breaks; "" for None or empty."""
    if not html:
        return ""
    if "<" not in html and "&" not in html:
        return html.strip()
    if _nesting_depth(html) > MAX_DEPTH:
        # lexbor's cost grows with the square of the nesting depth (DESIGN-NOTES "Parser limits"): a
        # fragment nested this deep is hostile; its tags are dropped without building a tree.
        return _tidy(unescape(_TAG.sub(" ", html)))
    tree = LexborHTMLParser(html)
    for node in tree.css(_DROP):
        node.decompose()
    for node in tree.css("br"):
        node.replace_with("\n")
    for node in tree.css(_BLOCKS):
        node.insert_after("\n\n")
    root = tree.body or tree.root
    return _tidy(root.text(deep=True) if root is not None else "")


def _tidy(text: str) -> str:
    """Trailing blanks off every line, runs of blank lines as one. Line by line, never a regex that
    backtracks: a hostile fragment of 10^5 spaces must cost 10^5 steps, not 10^10."""
    out: list[str] = []
    blank = False
    for line in text.split("\n"):
        line = line.rstrip(_SPACE)
        if not line:
            blank = bool(out)
            continue
        if blank:
            out.append("")
            blank = False
        out.append(line)
    return "\n".join(out).strip()
