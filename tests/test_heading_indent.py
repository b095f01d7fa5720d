"""Headings indented by up to 3 spaces (CommonMark 4.2) or behind characters that show as nothing
are read, never merged silently."""
from hypothesis import given, settings, strategies as st

from exporter.gates.text import decode

DOC = ("## Daily Papers (2024-03-04)\n\n### [Paper A](https://arxiv.org/abs/2403.00001)\n\nVote: 1\n\n"
       "Authors: A\n\n- a\n\n{p}## Daily Papers (2024-03-05)\n\n{q}### [Paper B](https://arxiv.org/abs/2403.00002)\n\n"
       "Vote: 1\n\nAuthors: B\n\n- b\n")
INVISIBLE = ["\u00ad", "\u034f", "\u3164", "\u115f", "\u1160", "\uffa0", "\u2800", "\U000e0001", "\U000e0020",
             "\ufe0f", "\u17b4", "\u17b5", "\U0001d173", "\u2028", "\u00ad\u200b", "\u200b ", "\u200b", "\u2060"]
prefix = st.one_of(st.sampled_from(["", " ", "  ", "   "]), st.sampled_from(INVISIBLE),
                   st.lists(st.sampled_from(INVISIBLE + [" "]), min_size=1, max_size=3).map("".join)
                   .filter(lambda s: len(s) - len(s.lstrip(" ")) <= 3 and s.count(" ") <= 3))


@settings(max_examples=60, deadline=None)
@given(prefix, prefix)
def test_hidden_or_indented_heading_is_read(p, q):
    from exporter.reader.parse import parse_text
    d = decode(DOC.format(p=p, q=q).encode())
    if p.strip(" ") or q.strip(" "):
        assert d.notes, "invisible characters removed without a warning"
    digests, _ = parse_text(d.text, "d.md")
    assert len(digests) == 2
    assert [len(x.papers) for x in digests] == [1, 1]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(INVISIBLE + [" ", "\t", "\n", "\r", "\r\n", "a", "가", "#", "\u3000"]),
                          st.text(max_size=3)), max_size=12).map("".join))
def test_the_line_start_check_finds_what_the_pattern_finds(text):
    """The quick look at each line's first character finds every line the pattern finds (it may
    find more: a line of invisible characters alone, which the pattern leaves as it is)."""
    from exporter.gates import text as gate

    if gate._INVISIBLE_AT_LINE_START.search(text) is not None:
        assert gate._invisible_at_a_line_start(text)
