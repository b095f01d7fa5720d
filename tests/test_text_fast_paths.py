"""The quick tests in front of the character gates give what the patterns alone give."""

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from exporter import model, render
from exporter.gates import text as gate_text

# Characters the fast paths must tell apart: each white space and each removed character, the
# ones next to them, and ordinary text.
EDGES = ("\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u200a\u200b\u2028\u2029\u202f\u205f\u3000\x00\x08\x0e\x1f\x7f\x9f"
         "\u061c\u200e\u202a\u2066\u2069\ufdd0\ufdef\ufffd\ufffe\uffff\U0001fffe\U0010ffff\U0001f600"
         "aZ09.:/*_[]<>&!~\\`한\u3164")
TEXT = st.text(alphabet=st.one_of(st.sampled_from(EDGES), st.characters(blacklist_categories=("Cs",))),
               max_size=40)


def collapse_by_pattern(text):
    if gate_text._TO_COLLAPSE.search(text) is None:
        text = text.strip(" ")
    else:
        text = gate_text._WHITE_SPACE_RUN.sub(" ", text).strip(" ")
    # Combining marks that start a field have nothing to combine with: they go.
    marks = gate_text._LEADING_MARKS.match(text)
    return text[marks.end():].lstrip(" ") if marks else text


def drop_by_pattern(text):
    return model.drop_astral_noncharacters(model._FORBIDDEN.sub("", text))


@settings(max_examples=500, deadline=None)
@given(TEXT)
def test_collapse_white_space_is_the_pattern(text):
    assert gate_text.collapse_white_space(text) == collapse_by_pattern(text)


@settings(max_examples=500, deadline=None)
@given(TEXT)
def test_drop_forbidden_is_the_pattern(text):
    assert model.drop_forbidden(text) == drop_by_pattern(text)


@settings(max_examples=500, deadline=None)
@given(TEXT)
def test_markdown_significant_is_the_pattern(text):
    assert render._markdown_significant(text) == bool(re.search(r"[\\`*_\[\]<>&!~\n\r]|://", text))


def test_every_character_the_fast_paths_pass_is_checked():
    """What the fast paths rely on, for every code point: str.isprintable() refuses each white
    space character but the space, and each character drop_forbidden removes but U+FFFD."""
    for code in range(0x110000):
        c = chr(code)
        if c != " " and gate_text._WHITE_SPACE_RUN.fullmatch(c):
            assert not c.isprintable(), hex(code)
        if c != "\ufffd" and drop_by_pattern(c) == "":
            assert not c.isprintable(), hex(code)


# Lines as a digest holds them: the edges above, and what the reader's fast paths look for
# (a '#' or a form of one, '&num;', fences, '<' and the tags that open a block, CR and LF).
LINE_PIECES = st.sampled_from(["#", "##", "### ", "\uff03\uff03 ", "\ufe5f\ufe5f\ufe5f ", "&num;&num; ", "===", "----", "\uff03", "\ufe5f", "&num;", "&#35;", "=", "--", "- ", "```", "~~~",
                               "<", "<!--", "<?", "<pre", "<PRE>", "<script ", "<style", "<textarea", "<div>", "\n",
                               "\r\n", "\r", "   ", "\t", "\u200b", "\ufeff", "\u2028", "a", "한"])
DOCUMENT = st.lists(st.one_of(LINE_PIECES, st.sampled_from(EDGES)), max_size=30).map("".join)


@settings(max_examples=800, deadline=None)
@given(DOCUMENT)
def test_invisible_at_a_line_start_is_each_lines_first_character(text):
    """The search for a line whose first character (but spaces and tabs) is invisible finds
    what looking at each line's does, and never less than the pattern it stands in front of."""
    by_line = any(gate_text._INVISIBLE_ONE.match(line.lstrip(" \t")[:1] or "a") for line in text.split("\n"))
    assert gate_text._invisible_at_a_line_start(text) == by_line
    if gate_text._INVISIBLE_AT_LINE_START.search(text) is not None:
        assert by_line


@settings(max_examples=800, deadline=None)
@given(DOCUMENT)
def test_the_block_scan_opens_where_the_pattern_does(text):
    from exporter.reader import blocks

    assert blocks._opens_a_block(text) == (blocks._ANY_OPENER.search(text) is not None)
    assert blocks._tight_heading(text) == _tight_by_class(text)


def _tight_by_class(text):
    from exporter.reader import blocks

    for m in blocks._HEADING_AFTER_BREAK.finditer(text):
        at = m.start()
        if text[at] == "\n" and at > 0 and text[at - 1] == "\r":
            at -= 1
        start = max(text.rfind("\n", 0, at), text.rfind("\r", 0, at)) + 1
        if text[start:at].strip(" \t"):
            return True
    return False


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.one_of(LINE_PIECES.filter(lambda p: p not in ("\n", "\r\n", "\r")), st.sampled_from(EDGES)),
                max_size=20).map("".join), st.sampled_from(["", "text", "2024-03-04 (2024-03-04)", "[a](b)"]))
@example("\uff03\uff03 x", "").via("a full-width heading")
@example("\ufe5f\ufe5f\ufe5f x", "").via("a small one")
@example("&num;&num; x", "").via("a reference")
@example("  ===", "text").via("a setext underline")
@example("--", "[a](b)").via("another")
def test_a_line_the_lookalike_check_skips_is_one_it_says_nothing_of(line, before):
    """What :func:`_may_look_like_heading` lets pass unchecked, the checks would say nothing of."""
    from exporter.reader import parse

    line = line.replace("\n", " ").replace("\r", " ") or "x"
    if parse._may_look_like_heading(line):
        return
    said = parse._FileParser("d.md", [before, line])
    said.say_lookalike(2, line, before)
    assert said.diags == []
