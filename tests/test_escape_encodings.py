"""Escape-sequence encodings (ISO 2022) are told by the text gate, not read as UTF-8: ISO-2022-KR
(RFC 1557) and ISO-2022-JP are 7-bit, so every byte is valid UTF-8, and read as UTF-8 their text
became ASCII letters between control characters that were then removed without a word.  They are
decoded (with a warning naming the file and the encoding), or refused at ``path:line: error:``;
ESC, SO and SI that make no encoding are removed with a warning at their line."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from exporter.gates.text import decode
from exporter.reader.parse import read_digests
from hostile_three import SETTINGS, run_cli

HANGUL = st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3).filter(
    lambda c: _encodes(c, "iso2022_kr"))
WORDS = st.text(st.one_of(HANGUL, st.sampled_from(list("abc XYZ-123"))), min_size=1, max_size=30).map(
    lambda t: " ".join(t.split())).filter(lambda t: re.search("[\uac00-\ud7a3]", t) and t.strip())


def _encodes(text: str, codec: str) -> bool:
    try:
        text.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def _digest(title: str, summary: str, heading: str = "일일 논문", author: str = "김 철수") -> str:
    # The paper has no 'Vote:' line: its warning names the paper's line (5), which must be right.
    return (f"## {heading} (2024-03-04)\n\n\n\n### [{title}](https://arxiv.org/abs/2403.00001)\n\n"
            f"Authors: {author}\n\n- {summary}\n")


@settings(max_examples=60, **SETTINGS)
@given(title=WORDS, summary=WORDS, header=st.booleans())
@example(title="한국어 제목", summary="요약 한글", header=True)
def test_iso_2022_kr_is_decoded_with_a_warning_naming_it(tmp_path_factory, title, summary, header):
    data = _digest(title, summary).encode("iso2022_kr")
    assert data.isascii() and b"\x1b$)C" in data
    if not header:  # RFC 1557's designation line cut off: the SO/SI shifts still tell it
        data = data.replace(b"\x1b$)C", b"")
    path = tmp_path_factory.mktemp("kr") / "day.md"
    path.write_bytes(data)
    result = read_digests([path])
    paper = result.digests[0].papers[0]
    assert (paper.title, paper.summary[0].text, paper.authors) == (title, summary, ("김 철수",))
    assert result.digests[0].title == "일일 논문"
    lines = [str(d) for d in result.diagnostics]
    assert lines[0].startswith(f"{path}:1: warning: file is ISO-2022-KR (")
    assert ("guessed from its SO/SI shifts" in lines[0]) != header, lines[0]
    assert f"{path}:5: warning: paper has no 'Vote:' line" in lines, lines
    assert not any(": error: " in line for line in lines), lines


@pytest.mark.parametrize("codec, name", [("iso2022_jp", "ISO-2022-JP"), ("iso2022_jp_2", "ISO-2022-JP-2")])
def test_iso_2022_jp_is_decoded_with_a_warning_naming_it(tmp_path, codec, name):
    # ISO-2022-JP-2 is told by a designation only it has: KS C 5601 into G0, ESC $ ( C.
    title = "日本語の論文" + (" 한국어" if codec == "iso2022_jp_2" else "")
    path = tmp_path / "day.md"
    path.write_bytes(_digest(title, "要約", "日本語", "山田").encode(codec))
    result = read_digests([path])
    assert result.digests[0].papers[0].title == title
    assert str(result.diagnostics[0]).startswith(f"{path}:1: warning: file is {name} (by its escape sequence ESC $ ")


@pytest.mark.parametrize("data, line, why", [
    (b"## x (2024-03-04)\n\x1b$)A\x0e\x30\x21\x0f\n", 2, "ISO-2022-CN (by its escape sequence ESC $ ) A)"),
    (b"## x (2024-03-04)\n\n\x1b$)C\x0e@O\x0f\n\xea\xb0\x80\n", 3, "in a file with 8-bit bytes (line 4)"),
    (b"\x1b$)C\n## x (2024-03-04)\n\x1b$B\x30\x21\n", 3, "escape sequences of two encodings"),
    (b"\x1b$)C## x (2024-03-04)\n\n\n\x0e\x7f\x7f\x0f\n", 4, "ISO-2022-KR (by its escape sequence ESC $ ) C at line 1), "
                                                          "but byte 0x7f does not decode in it"),
], ids=["cn", "joined", "kr-and-jp", "bad-bytes"])
def test_what_cannot_be_decoded_right_is_an_error_at_its_line(tmp_path, data, line, why):
    path = tmp_path / "day.md"
    path.write_bytes(data)
    result = run_cli(["inspect", str(path)], tmp_path)
    assert result.exit_code == 1, result.output
    assert f"{path}:{line}: error: cannot decode the file: " in result.output, result.output
    assert why in result.output, result.output


@settings(max_examples=80, **SETTINGS)
@given(before=st.integers(0, 6), control=st.sampled_from(["\x1b", "\x0e", "\x0f", "\x1b[31m", "\x1b(B\x1b[m"]),
       utf8=st.booleans())
def test_stray_shift_and_escape_characters_are_removed_with_a_warning_at_their_line(tmp_path_factory, before,
                                                                                    control, utf8):
    lines = ["## Daily Papers (2024-03-04)", "", "### [Title](https://arxiv.org/abs/2403.00001)", "",
             "Vote: 3", "", "- summary" + (" 한국어" if utf8 else "")]
    lines.insert(before + 1, f"- a{control}b")
    path = tmp_path_factory.mktemp("stray") / "day.md"
    path.write_bytes("\n".join(lines).encode("utf-8"))
    result = read_digests([path])
    warnings = [str(d) for d in result.diagnostics if "ESC, SO or SI" in d.message]
    assert warnings == [f"{path}:{before + 2}: warning: ESC, SO or SI control characters that make no "
                        "escape-sequence encoding (a terminal colour code?); removed"], result.diagnostics
    assert not any(d.is_error for d in result.diagnostics)
    assert result.digests[0].papers[0].title == "Title"


def test_text_without_escapes_is_not_looked_at_twice():
    # The common case stays UTF-8, and is not said to be anything else.
    decoded = decode("## 일일 (2024-03-04)\n".encode())
    assert (decoded.encoding, decoded.notes, decoded.told_by) == ("utf-8", (), "")


def test_an_iso_2022_kr_digest_makes_a_korean_book(tmp_path):
    path = tmp_path / "day.md"
    path.write_bytes(_digest("한국어 제목", "요약 한글").encode("iso2022_kr"))
    result = run_cli(["epub", str(path), "-o", str(tmp_path / "out"), "--images", "none"], tmp_path)
    assert result.exit_code == 0, result.output
    assert f"{path}:1: warning: file is ISO-2022-KR" in result.output, result.output
    import zipfile

    book = next((tmp_path / "out").glob("*.epub"))
    with zipfile.ZipFile(book) as z:
        text = "".join(z.read(n).decode() for n in z.namelist() if n.endswith(".xhtml"))
    assert "한국어 제목" in text and "요약 한글" in text


@settings(max_examples=40, **SETTINGS)
@given(title=WORDS, summary=WORDS, bom=st.booleans())
def test_iso_2022_kr_after_a_utf8_bom_is_decoded(tmp_path_factory, title, summary, bom):
    """An editor that saves "UTF-8 with BOM" puts EF BB BF before 7-bit ISO-2022-KR text: the
    BOM is no second encoding."""
    data = (b"\xef\xbb\xbf" if bom else b"") + _digest(title, summary).encode("iso2022_kr")
    path = tmp_path_factory.mktemp("bom-kr") / "day.md"
    path.write_bytes(data)
    result = read_digests([path])
    lines = [str(d) for d in result.diagnostics]
    assert result.digests and result.digests[0].papers[0].title == title, lines
    assert lines[0].startswith(f"{path}:1: warning: file is ISO-2022-KR (by its escape sequence"), lines
    assert not any(": error: " in line for line in lines), lines


WIDE = {"utf-16-le": ("UTF-16", "little"), "utf-16-be": ("UTF-16", "big"),
        "utf-32-le": ("UTF-32", "little"), "utf-32-be": ("UTF-32", "big")}


@settings(max_examples=60, **SETTINGS)
@given(codec=st.sampled_from(sorted(WIDE)), title=WORDS, summary=WORDS, english=st.booleans())
def test_utf16_and_utf32_without_a_bom_are_told_by_their_nul_bytes(tmp_path_factory, codec, title, summary,
                                                                   english):
    """What Windows tools write as "Unicode" without a BOM (all-ASCII text too, which once read as
    "NUL bytes removed"): decoded, with a warning naming the encoding, its byte order and how it
    was told, and every line where it is."""
    if english:
        title, summary = "A plain title", "An English summary"
    data = _digest(title, summary).encode(codec)
    path = tmp_path_factory.mktemp("wide") / "day.md"
    path.write_bytes(data)
    result = read_digests([path])
    lines = [str(d) for d in result.diagnostics]
    name, order = WIDE[codec]
    assert lines[0] == (f"{path}:1: warning: file is {name} ({order}-endian, without a byte-order mark: told by "
                        "its NUL bytes); decoded (save it as UTF-8)"), lines
    paper = result.digests[0].papers[0]
    assert (paper.title, paper.summary[0].text) == (title, summary)
    assert f"{path}:5: warning: paper has no 'Vote:' line" in lines, lines
    assert not any("NUL" in line and "removed" in line for line in lines), lines


@pytest.mark.parametrize("data", [
    "# Day\n\n".encode() + "\0".join("x" * 40).encode(),   # stray NULs in UTF-8: removed, said
    "한국어 제목\n".encode("utf-16-le"),                    # no ASCII first: not guessed
    b"#" + "## Day (2024-03-04)\n".encode("utf-16-le"),     # a UTF-16 file joined one byte in
], ids=["stray-nuls", "hangul-first", "joined-misaligned"])
def test_what_only_looks_wide_is_not_read_as_utf16(tmp_path, data):
    path = tmp_path / "day.md"
    path.write_bytes(data)
    assert decode(data).encoding not in ("utf-16", "utf-32") or decode(data).text is None
