"""The reader never raises on any input: problems are diagnostics."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest_strategies import digest_files
from exporter.model import SummaryItem
from exporter.reader.parse import read_digests

XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
DIAG = re.compile(r"^.+:\d+: (error|warning): .+$")


def _texts(result):
    for digest in result.digests:
        yield digest.title
        for p in digest.papers:
            yield p.title
            yield from p.authors
            if p.url:
                yield p.url
            if p.thumbnail:
                yield p.thumbnail.url
            stack: list[SummaryItem] = list(p.summary)
            while stack:
                item = stack.pop()
                yield item.text
                if item.label:
                    yield item.label
                stack.extend(item.children)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(digest_files(), min_size=1, max_size=3), st.sampled_from(["utf-8", "utf-8-sig"]))
def test_reader_never_raises_and_model_is_clean(tmp_path_factory, files, encoding):
    folder = tmp_path_factory.mktemp("digests")
    for i, text in enumerate(files):
        (folder / f"{i}.md").write_bytes(text.encode(encoding, errors="surrogatepass"))
    result = read_digests([folder])
    for diag in result.diagnostics:
        assert DIAG.match(str(diag)), str(diag)
    for value in _texts(result):
        assert not XML_FORBIDDEN.search(value), repr(value)
    for digest in result.digests:
        for p in digest.papers:
            assert p.title
            assert p.url is None or p.url.startswith(("http://", "https://"))
            if p.thumbnail and ":" in p.thumbnail.url.split("/")[0]:
                assert p.thumbnail.url.startswith(("http://", "https://"))
    dates = [d.date for d in result.digests]
    assert dates == sorted(set(dates))
