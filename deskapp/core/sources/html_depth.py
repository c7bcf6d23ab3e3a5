"""How deep an HTML parser would really nest a page, measured before the parser sees it.

lexbor's cost grows with the square of the depth of its stack of open elements, so a hostile page
that nests 100,000 levels stalls it for minutes. Counting tags is not enough: the tree builder
ignores end tags that match nothing (`<div></span>` nests for real), end tags hidden in comments,
attribute values and raw text (`<div><script></div></script>`), and end tags that a scope boundary
or a special element stops (`<span><div></span>`, `<div><object></div>`). This walks the tags with
the tree builder's own rules for those cases and errs on the deep side everywhere else (implied end
tags are mostly not simulated), so it never reports less than lexbor builds; `tests/core/
test_html_depth.py` checks that against lexbor for every hostile pattern we know.
"""

from __future__ import annotations

import re

# Tags of an HTML page, in document order: comments and <!...>/<?...> first (tags inside them are
# text), then start and end tags with their attributes (quoted values may hold '>' and '<').
# Only these five are whitespace to the tokenizer (not \v): `<div\v>` is an element named "div\v".
_TOKEN = re.compile(
    rb"<!--.*?(?:-->|\Z)"
    rb"|<[!?][^>]*(?:>|\Z)"
    rb"|</[^a-zA-Z>][^>]*(?:>|\Z)"  # `</3...>`: a bogus comment, tags inside it are text
    rb"|<(/?)([a-zA-Z][^\t\n\f\r />]*)"
    rb"((?:=[\t\n\f\r ]*\"[^\"]*(?:\"|\Z)|=[\t\n\f\r ]*'[^']*(?:'|\Z)|[^>])*)(?:>|\Z)",
    re.S,
)
_VOID = frozenset(b"area base br col embed hr img input link meta param source track wbr keygen basefont bgsound "
                  b"frame image".split())
# Raw text: the tree builder reads everything up to the matching end tag as text. (lexbor parses
# <noscript> as markup: scripting is off.)
_RAW = frozenset(b"script style textarea title xmp iframe noembed noframes".split())
# "Has an element in scope" stops at these (HTML Living Standard, 13.2.4.2), plus SVG/MathML leaves.
_SCOPE = frozenset(b"applet caption html table td th marquee object template mi mo mn ms mtext "
                   b"annotation-xml foreignobject desc".split())
_SPECIAL = _SCOPE | frozenset(
    b"address area article aside base basefont bgsound blockquote body br button center col colgroup dd details "
    b"dir div dl dt embed fieldset figcaption figure footer form frame frameset h1 h2 h3 h4 h5 h6 head header "
    b"hgroup hr iframe img input keygen li link listing main menu meta nav noembed noframes noscript ol p param "
    b"plaintext pre script search section select source style summary tbody textarea tfoot thead title tr "
    b"track ul wbr xmp".split())
_FORMATTING = frozenset(b"a b big code em font i nobr s small strike strong tt u".split())
# End tags with their own rule in the body: these names take the scope check and pop; MathML and SVG
# names are "any other end tag"; </body> and </html> only switch mode; </form> removes the form alone.
_END_SPECIAL = _SPECIAL - frozenset(b"mi mo mn ms mtext annotation-xml foreignobject desc body html head form".split())
_NEVER_CLOSED = frozenset(b"body html head".split())
# A start tag of one of these closes an open one of the same name right above it (<li><li>, <p><p>).
_SELF_CLOSING_SIBLINGS = frozenset(b"p li dd dt option optgroup tr td th".split())


def nesting_depth(html: bytes, stop_at: int | None = None) -> int:
    """The deepest stack of open elements the page would build (at least; never less).

    `stop_at`: return as soon as the depth passes it (a hostile page is not walked to its end)."""
    stack: list[bytes] = []
    deepest = 0
    pos = 0
    end = len(html)
    finditer = _TOKEN.finditer
    while pos < end:
        for m in finditer(html, pos):
            name = m.group(2)
            if name is None:
                continue  # a comment or <!doctype>
            name = name.lower()
            if m.group(1):  # an end tag
                _close(stack, name)
                continue
            if name in _VOID:
                continue
            if name in _RAW:
                pos = _raw_end(html, name, m.end())  # finditer restarts after the raw text
                break
            if name == b"plaintext":
                return max(deepest, len(stack) + 1)
            if name in _SELF_CLOSING_SIBLINGS and stack and stack[-1] == name:
                stack.pop()
            if stack and stack[-1] == b"table" and name in (b"tr", b"td", b"th"):
                stack.append(b"tbody")  # implied, as the tree builder inserts it
            if name in (b"td", b"th") and stack and stack[-1] in (b"table", b"tbody", b"thead", b"tfoot"):
                stack.append(b"tr")
            stack.append(name)
            if len(stack) > deepest:
                deepest = len(stack)
                if stop_at is not None and deepest > stop_at:
                    return deepest
        else:
            break
    return deepest


def _raw_end(html: bytes, name: bytes, start: int) -> int:
    """Where the raw text of a `name` element started at `start` ends (after its end tag).

    In a script, `<!--` then `<script` enters the "double escaped" state, where the next
    `</script>` does not end the script (tests/core/test_html_depth.py has the case)."""
    closer = re.compile(rb"</" + re.escape(name) + rb"[\t\n\f\r />]", re.I)
    pos = start
    while True:
        m = closer.search(html, pos)
        if m is None:
            return len(html)
        if name != b"script":
            return m.end()
        text = html[start:m.start()]
        opened = text.rfind(b"<!--")
        if opened < 0 or b"-->" in text[opened:] or not re.search(rb"<script[\t\n\f\r />]", text[opened:], re.I):
            return m.end()
        # Double escaped: this </script> returns to the escaped state; the next one ends the script.
        start = pos = m.end()


def _close(stack: list[bytes], name: bytes) -> None:
    """Apply an end tag as the tree builder would, or ignore it as it does."""
    if name in _NEVER_CLOSED:
        return
    try:
        idx = len(stack) - 1 - stack[::-1].index(name)
    except ValueError:
        return  # matches no open element: ignored (the `<div></span>` case)
    above = stack[idx + 1:]
    if name in _FORMATTING or name == b"form":
        # The adoption agency (and </form>): closed when it is the current node; otherwise it leaves
        # the stack but stays the ancestor of what was opened inside it, so for the depth it stays.
        if not above:
            stack.pop()
        return
    if name in _END_SPECIAL:
        if _SCOPE.isdisjoint(above):
            del stack[idx:]
        return
    # "Any other end tag": walking down from the top, a special element stops it.
    if _SPECIAL.isdisjoint(above):
        del stack[idx:]
