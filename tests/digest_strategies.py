"""Hypothesis strategies that generate whole digest files, structure and text.

Shared by the property tests of the reader and of both backends.  The text
alphabet deliberately includes what hostile or broken producers emit: HTML
and script, Markdown and TeX delimiters, control and bidi characters,
zero-width characters, Korean, surrogates-free astral characters.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

HOSTILE_SNIPPETS = [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "javascript:alert(1)",
    "[x](javascript:alert(1))", "[y](data:text/html;base64,PHNjcmlwdD4=)", "[z](file:///etc/passwd)",
    "<a href=\"javascript:alert(2)\">a</a>", "**unclosed", "`tick", "$\\frac{a", "$^{2}$",
    "\u202eevil\u202c", "\u200b\u200d", "\x0b\x0c\x1b", "&amp;&lt;&#0;&#x1;", "]]>", "<![CDATA[x]]>",
    "https://example.com/a?b=<c>&d=\"e\"", "<http://a.b/c>", "\\", "\u0000", "\ufeff", "한국어 요약",
    "<iframe src=//evil>", "<svg onload=alert(1)>", "<style>*{}</style>", "{{ 7*7 }}", "{% raw %}",
]

_alphabet = st.characters(
    blacklist_categories=("Cs",),  # lone surrogates cannot be written as UTF-8 anyway
)
text = st.one_of(
    st.text(_alphabet, max_size=40),
    st.sampled_from(HOSTILE_SNIPPETS),
    st.lists(st.sampled_from(HOSTILE_SNIPPETS), min_size=1, max_size=4).map(" ".join),
)
one_line = text.map(lambda s: s.replace("\n", " ").replace("\r", " "))

urls = st.one_of(
    st.integers(min_value=1, max_value=99999).map(lambda n: f"https://arxiv.org/abs/2403.{n:05d}"),
    st.sampled_from([
        "https://openreview.net/forum?id=abc", "https://huggingface.co/papers/2403.00001",
        "javascript:alert(1)", "data:text/html,x", "file:///etc/passwd", "ftp://x/y",
        "https://exa mple.com/\"onmouseover=\"x", "http://[::1]/", "", "//no-scheme.example/x",
    ]),
)
thumb_lines = st.sampled_from([
    [], ["![](https://cdn.example.org/t.png)"], ["![](javascript:alert(1))"],
    ["![](../../etc/passwd)"], ["![](/etc/passwd)"],
    ["[Watch Video](https://cdn.example.org/v.mp4)",
     '<div><video controls src="https://cdn.example.org/v.mp4" muted="false"></video></div>'],
    ["<video src='https://cdn.example.org/w.mp4'></video>"], ["[Watch Video]https://cdn.example.org/z.mp4"],
    ["<video src=javascript:alert(1)></video>"], ["<script>alert(1)</script>"],
])
vote_lines = st.sampled_from([[], ["Vote: 12"], ["Vote: -"], ["Vote: many"], ["Vote: 0"]])


@st.composite
def bullets(draw, depth: int = 0) -> list[str]:
    lines = []
    for _ in range(draw(st.integers(0, 4 if depth == 0 else 2))):
        label = draw(st.sampled_from(["", "***What's New***: ", "**Technical Details**: ", "***<b>x</b>***: "]))
        lines.append("  " * depth + "- " + label + draw(one_line))
        if draw(st.booleans()):
            lines.append(("  " * depth if draw(st.booleans()) else "") + draw(one_line))
        if depth < 2 and draw(st.integers(0, 4)) == 0:
            lines.extend(draw(bullets(depth + 1)))
        if depth == 0 and draw(st.integers(0, 6)) == 0:
            lines[-1] = lines[-1] + ":"
            lines += [f"{i}. {draw(one_line)}" for i in range(1, 3)]
    return lines


@st.composite
def paper_blocks(draw) -> list[str]:
    title = draw(one_line)
    url = draw(urls)
    head = f"### [{title}]({url})" if draw(st.integers(0, 5)) else f"### {title}"
    lines = [head, ""]
    lines += draw(thumb_lines)
    lines += draw(vote_lines)
    if draw(st.booleans()):
        lines.append("Authors: " + ", ".join(draw(st.lists(one_line, max_size=4))))
    lines.append("")
    lines += draw(bullets())
    if draw(st.integers(0, 8)) == 0:
        lines.append(draw(one_line))  # stray line
    lines.append("")
    return lines


dates = st.dates(min_value=dt.date(2023, 12, 25), max_value=dt.date(2024, 1, 20))


@st.composite
def digest_files(draw) -> str:
    """The text of one digest file: headings (a few with bad dates), papers."""
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 3))):
        date = draw(dates).isoformat()
        if draw(st.integers(0, 10)) == 0:
            date = draw(st.sampled_from(["2024-02-30", "2024-13-01", "yesterday", ""]))
        lines += [f"## {draw(st.sampled_from(['Daily Papers', 'Papers <b>', '']))} ({date})", ""]
        for _ in range(draw(st.integers(0, 4))):
            lines += draw(paper_blocks())
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return newline.join(lines)
