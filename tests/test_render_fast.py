"""The inline fast paths of exporter.render must render exactly like markdown-it."""

from hypothesis import example, given, settings
from hypothesis import strategies as st

from exporter import render

ALPHABET = st.sampled_from(list("ab 가나*<>&\"'().,:-1²#;x") + ["**", "< ", "& ", "초"])


@settings(max_examples=400, deadline=None)
@given(st.lists(ALPHABET, min_size=1, max_size=14).map("".join))
@example("**a****a**")  # four asterisks between two strong runs: the parser pairs them otherwise
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


URL_PARTS = st.sampled_from([
    "https://github.com/org/repo", "http://example.org", "https://a-b.example.co.kr/x_y/z.html",
    "https://x.org/", "https://x.org/a.", "https://x.org/a-", "https://x.o", "https://-x.org/a",
    "https://x.org/a,b", "https://localhost/a", "https://x.org/a?b=c", "https://x.org/a#f",
    "https://x.org:8080/a", "HTTPS://X.ORG/A", "https://x.org/경로", "(https://x.org/a)",
    "https://x.org/a)", "https://x.org/%41", "ftp://x.org/a", "://", "https://", "www.x.org",
])
URL_TEXT = st.lists(st.one_of(URL_PARTS, ALPHABET, st.just(" ")), min_size=1, max_size=10).map("".join)


@settings(max_examples=1500, deadline=None)
@given(URL_TEXT)
def test_url_fast_path_matches_markdown_it(text):
    text = " ".join(text.split())
    fast = render._url_inline(text)
    if fast is not None:
        assert fast == str(render._inline_markdown(text)), text


def test_url_fast_path_is_taken_for_prose_with_a_plain_url():
    text = "코드는 https://github.com/Meituan-AutoML/VisionLLaMA 에서 공개할 예정이다."
    assert render._url_inline(text) == str(render._inline_markdown(text))
    assert '<a href="https://github.com/Meituan-AutoML/VisionLLaMA">' in render._url_inline(text)
    # Trailing punctuation, ports, queries: left to the parser.
    for other in ("see https://x.org/a.", "https://x.org:8080/a b", "at https://x.org/a?b=c now"):
        assert render._url_inline(other) is None
