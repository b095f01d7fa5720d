"""digest-export: daily research-paper digests to EPUB books and Atom/RSS/JSON feeds."""

from __future__ import annotations

__version__ = "0.1.0"


__all__ = [
    "__version__",
    "Diagnostic",
    "Digest",
    "Paper",
    "ReadResult",
    "SummaryItem",
    "Thumbnail",
    "read_digests",
    "write_feeds",
    "FeedOptions",
]


def __getattr__(name: str):
    # Lazy, so that the console script imports nothing before it guards against Ctrl-C
    # (exporter.__main__), and `digest-export --help` does not import the feed writers.
    if name in {"Diagnostic", "Digest", "Paper", "ReadResult", "SummaryItem", "Thumbnail"}:
        from . import model

        return getattr(model, name)
    if name == "read_digests":
        from .reader import read_digests

        return read_digests
    if name in {"write_feeds", "FeedOptions"}:
        if name == "FeedOptions":
            from .feeds.writer import FeedOptions

            return FeedOptions
        from .pipeline import write_feeds

        return write_feeds
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
