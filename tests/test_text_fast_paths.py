"""The quick tests in front of the character gates give what the patterns alone give."""

import re

from hypothesis import given, settings
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
