"""The reader: Markdown digest files in, the digest model and diagnostics out.

It writes nothing.  ``parse`` holds the parser for the format described in
docs/format.md; the names below are the stage's interface.
"""

from .parse import (
    STDIN,
    decode,
    iter_input_files,
    merge,
    parse_text,
    read_digests,
)

__all__ = ["STDIN", "decode", "iter_input_files", "merge", "parse_text", "read_digests"]
