"""Where a Markdown viewer shows a digest's lines as code or hides them: fenced code blocks and
the HTML blocks that run to an end mark (comments, ``<pre>``, ``<script>``, ``<style>``,
``<textarea>``).

The reader reads a line starting ``## `` as a day and ``### `` as a paper.  Inside such a block
a viewer shows that line as code, or nothing at all (a comment): reading it as a heading would
add a day or a paper that nobody who reads the digest sees.  The lines inside are found here in
one pass, as CommonMark 0.31 delimits these blocks:

- a fenced code block (4.5) opens with three or more backticks or tildes, indented at most
  three spaces past its container, and closes at a line of at least as many of the same
  character (and nothing else), indented at most three spaces, or where its container ends;
- an HTML block of type 1 or 2 (4.6) opens with ``<pre``, ``<script``, ``<style``,
  ``<textarea`` (then a space, ``>`` or the end of the line) or ``<!--``, and runs to the end of
  the line holding ``</pre>``, ``</script>``, ``</style>``, ``</textarea>`` or ``-->`` (it may be
  the line that opens it), or where its container ends;
- the containers are list items (5.2): a block opened inside an item ends at the first line
  that is not blank and is indented less than the item's content (a fence or an HTML block
  has no lazy continuation lines); block quotes are left to the reader, which reads no heading
  behind a ``>``.

The other HTML blocks (a ``<div>`` line, type 6 and 7) end at the next blank line and are what
the digests' video lines are made of: they are read as those lines (docs/format.md, variant 1).
``tests/test_reader_blocks.py`` checks this pass against markdown-it-py (the CommonMark parser
the renderer uses) on generated digests; markdown-it itself is not run here, since it takes
twenty times as long as the reader over a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: What opens a fence or an HTML block that hides its lines (markdown-it's kinds 1 to 5), and a
#: heading right under a line that is not blank (where an HTML block of another kind, which a
#: blank line ends, may run on into it): only a file that holds one is scanned.
_ANY_OPENER = re.compile(r"```|~~~|<[!?]|<(?i:pre|script|style|textarea)(?![^ \t\n>])")

_FENCE = re.compile(r"(`{3,}|~{3,})(.*)")
_LIST_MARKER = re.compile(r"(?:[-+*]|[0-9]{1,9}[.)])(?=[ \t]|$)")
_THEMATIC_BREAK = re.compile(r"([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_HEADING = re.compile(r"#{1,6}(?:[ \t]|$)")
#: How many of markdown-it's HTML block kinds (CommonMark's types 1 to 5, in its order) end at
#: an end mark and show nothing of their lines, or show them as text: the others (6, 7) end
#: at a blank line and are the digests' own video lines.
_HIDING_KINDS = 5


@dataclass(frozen=True, slots=True)
class Block:
    opened_at: int  # line number, from 1
    what: str  # how it opened, for messages: '```', '<!--', '<pre'
    container: int  # the column its container's content starts at (0: the document)
    fence: str = ""  # a fence's character run ('```', '~~~~'), or '' for an HTML block
    end: re.Pattern[str] | None = None  # an HTML block's end mark (None: a blank line ends it)
    hides: bool = True  # whether its lines show as code or nothing (not as the digest's lines)


#: A line break, then a line that may be a heading (up to 3 spaces and a '#'): LF, CRLF or CR
#: end a line in CommonMark (section 2.1), as in ``split_lines``.
_HEADING_AFTER_BREAK = re.compile(r"[\r\n] {0,3}#")
#: The same after LF alone, for a text without CR: a pattern that starts with a literal is
#: searched for that character first, five times as fast as a class is tried at every position.
_HEADING_AFTER_LF = re.compile(r"\n {0,3}#")


def _tight_heading(text: str) -> bool:
    """Whether a line of *text* that may be a heading stands right under one that is not blank
    (CommonMark 4.9: blank is nothing but spaces and tabs; a line of U+00A0 or of U+200B is
    text), found by its line break: a digest has a few dozen headings, and a search over every
    character cost a fifth of reading it."""
    for m in (_HEADING_AFTER_BREAK if "\r" in text else _HEADING_AFTER_LF).finditer(text):
        at = m.start()
        if text[at] == "\n" and at > 0 and text[at - 1] == "\r":
            at -= 1  # CRLF
        start = max(text.rfind("\n", 0, at), text.rfind("\r", 0, at)) + 1
        if text[start:at].strip(" \t"):
            return True
    return False


def _opens_a_block(text: str) -> bool:
    """Whether :data:`_ANY_OPENER` matches in *text*, looked up at each '<' (a digest has a few)
    after two ``in`` tests for the fences: a fifth of the time of its search over every character."""
    if "```" in text or "~~~" in text:
        return True
    at = text.find("<")
    while at >= 0:
        if _ANY_OPENER.match(text, at):
            return True
        at = text.find("<", at + 1)
    return False


def _columns(line: str, col: int = 0) -> tuple[int, str]:
    """The column where *line*'s text starts, *line* starting at column *col* (a tab to the next
    multiple of 4, CommonMark 2.2), and that text."""
    i = 0
    while i < len(line) and line[i] in " \t":
        col = col + 4 - col % 4 if line[i] == "\t" else col + 1
        i += 1
    return col, line[i:]


def hidden_lines(lines: list[str], text: str) -> dict[int, Block]:
    """The lines (numbered from 1) inside a fenced code block or an HTML block, each with the
    block (:attr:`Block.hides`: one that ends at an end mark, whose lines show as code or
    nothing; the others, which end at a blank line, show their lines as text); the line that
    opens a block is not inside it."""
    if not _opens_a_block(text) and not ("<" in text and _tight_heading(text)):
        return {}
    hidden: dict[int, Block] = {}
    items: list[int] = []  # the content columns of the list items open here, innermost last
    block: Block | None = None
    paragraph = False  # the line above was paragraph text (which later lines may continue lazily)
    for no, line in enumerate(lines, start=1):
        col, rest = _columns(line)
        if not rest:
            paragraph = False
            if block is not None and block.end is None and not block.fence:
                block = None  # an HTML block of type 6 or 7 ends at a blank line
            continue
        if block is not None:
            if block.container and col < block.container:
                block = None  # its list item ended: the line is read afresh below
            else:
                hidden[no] = block
                if _closes(block, col, rest):
                    block = None
                continue
        if not paragraph or _starts_block(rest, col - (items[-1] if items else 0)):
            while items and items[-1] > col:
                items.pop()
        col, rest, items = _open_items(col, rest, items, paragraph)
        container = items[-1] if items else 0
        if rest.startswith(">"):
            # A block quote: its fences and HTML blocks end with it (no lazy lines), and the reader
            # reads no heading in it; its text may go on lazily below.
            paragraph = _paragraph_line(rest.lstrip("> \t"))
            continue
        if col - container >= 4:
            continue  # the text of the paragraph above, or indented code (no paragraph then either)
        opened = _opens(no, rest, container, paragraph)
        # Closed on the line that opens it, or not: no paragraph either way.
        block = None if opened is not None and opened.end is not None and opened.end.search(rest) else opened
        paragraph = opened is None and _paragraph_line(rest)
    return hidden


def _paragraph_line(rest: str) -> bool:
    return bool(rest) and not _HEADING.match(rest) and not _THEMATIC_BREAK.match(rest) and not _is_fence(rest)


def _is_fence(rest: str) -> bool:
    # CommonMark 4.5: a backtick fence's info string has no backtick.
    return (m := _FENCE.match(rest)) is not None and not (m.group(1)[0] == "`" and "`" in m.group(2))


def _interrupting_item(rest: str) -> bool:
    """Whether *rest* starts a list item that may interrupt a paragraph (CommonMark 5.2: one
    that is not empty, and numbered 1 if numbered)."""
    m = _LIST_MARKER.match(rest)
    if m is None or not rest[m.end():].strip(" \t"):
        return False
    return not m.group(0)[0].isdigit() or int(m.group(0)[:-1]) == 1


def _open_items(col: int, rest: str, items: list[int], paragraph: bool) -> tuple[int, str, list[int]]:
    """The column and text after the list markers that start *rest* (at *col*), with the items
    they open added to *items* (CommonMark 5.2: the content starts after 1 to 4 spaces; an item
    that interrupts a paragraph is not empty, and is numbered 1 if numbered)."""
    while ((m := _LIST_MARKER.match(rest)) and not _THEMATIC_BREAK.match(rest)
           and col - (items[-1] if items else 0) < 4):
        after = col + m.end()
        text_col, text = _columns(rest[m.end():], after)
        if paragraph and not _interrupting_item(rest):
            break
        spaces = text_col - after
        items = items + [after + (spaces if 1 <= spaces <= 4 and text else 1)]
        col, rest = text_col, text
        if not text:
            break
    return col, rest, items


def _starts_block(rest: str, indent: int) -> bool:
    """Whether *rest* starts a block (so it is no lazy line of the paragraph above)."""
    if indent >= 4:
        return False
    return bool(_HEADING.match(rest) or _THEMATIC_BREAK.match(rest) or _interrupting_item(rest)
                or _is_fence(rest) or rest.startswith(">")
                or any(start.search(rest) for start, _, interrupts in _html_kinds() if interrupts))


def _opens(no: int, rest: str, container: int, paragraph: bool) -> Block | None:
    if _is_fence(rest):
        run = _FENCE.match(rest).group(1)
        return Block(no, run[:3], container, fence=run)
    if rest.startswith("<"):
        for kind, (start, end, interrupts) in enumerate(_html_kinds()):
            if (m := start.search(rest)) and (interrupts or not paragraph):
                ends = end if end.pattern != "^$" else None
                return Block(no, m.group(0)[:10], container, end=ends, hides=kind < _HIDING_KINDS)
    return None


def _closes(block: Block, col: int, rest: str) -> bool:
    """Whether the line at *col* holding *rest* (inside *block*) is its last."""
    if block.end is not None:
        return block.end.search(rest) is not None
    if not block.fence or col - block.container >= 4:
        return False
    run = len(rest) - len(rest.lstrip(block.fence[0]))
    return run >= len(block.fence) and not rest[run:].strip(" \t")


def _html_kinds() -> list[tuple[re.Pattern[str], re.Pattern[str], bool]]:
    """markdown-it's HTML block kinds: (start, end, whether it may interrupt a paragraph)."""
    from markdown_it.rules_block.html_block import HTML_SEQUENCES

    return HTML_SEQUENCES
