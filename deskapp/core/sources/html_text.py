"""HTML fragments (Mastodon statuses, RSS/Atom summaries) as plain text.

Lines break where a reader sees them break: `<br>` is a newline, a paragraph, list item, heading or
quote ends with a blank line. Link text is kept whole: Mastodon hides the scheme and the tail of long
links in `<span class="invisible">`, and the whole URL is what a citation needs. Scripts and styles
are never text. The result still goes through `sanitize.clean_text` at the caller, like every field.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser

_BLOCKS = "p, div, li, blockquote, h1, h2, h3, h4, h5, h6, pre, tr, dt, dd, figcaption"
_DROP = "script, style, noscript, template, head, title"
_BLANKS = re.compile(r"[ \t\u00a0]*\n[ \t\u00a0\n]*\n")
_TRAILING = re.compile(r"[ \t\u00a0]+\n")


def html_to_text(html: str | None) -> str:
    """The text a reader sees in an HTML fragment, with line breaks; "" for None or empty."""
    if not html:
        return ""
    if "<" not in html and "&" not in html:
        return html.strip()
    tree = LexborHTMLParser(html)
    for node in tree.css(_DROP):
        node.decompose()
    for node in tree.css("br"):
        node.replace_with("\n")
    for node in tree.css(_BLOCKS):
        node.insert_after("\n\n")
    root = tree.body or tree.root
    text = root.text(deep=True) if root is not None else ""
    text = _TRAILING.sub("\n", text)
    return _BLANKS.sub("\n\n", text).strip()
