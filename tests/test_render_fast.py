"""The inline fast paths of exporter.render must render exactly like markdown-it."""

from hypothesis import given, settings
from hypothesis import strategies as st

from exporter import render

ALPHABET = st.sampled_from(list("ab 가나*<>&\"'().,:-1²#;x") + ["**", "< ", "& ", "초"])


@settings(max_examples=400, deadline=None)
@given(st.lists(ALPHABET, min_size=1, max_size=14).map("".join))
def test_simple_inline_matches_markdown_it(text):
    text = " ".join(text.split())  # the model collapses white space
    simple = render._simple_inline(text)
    if simple is not None:
        md, _ = render._markdown()
        assert simple == md.renderInline(text).replace("\n", " ")


def test_fast_path_is_taken_for_bold_and_literal_brackets():
    # Without the fast path these return None and go to the parser (the
    # benchmark's 6,000 bullets a year).
    assert render._simple_inline("지연 (<0.5초) & **메모리** 절약") == (
        "지연 (&lt;0.5초) &amp; <strong>메모리</strong> 절약")
    assert render._simple_inline("<script>x</script>") is None
    assert str(render.inline_html("a <script>x</script> **b**")) == (
        "a &lt;script&gt;x&lt;/script&gt; <strong>b</strong>")
