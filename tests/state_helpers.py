"""The build state as tests edit it: a test that edits the state to stage a case other than
damage (a removed input, an older run's record) re-seals it, so the run trusts the edit.

The program refuses any hand edit of its state (a checksum of its own content, see
``exporter.gates.documents.seal``); only tests that mean "as if an earlier run had written
this" use :func:`write_sealed`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from exporter.gates import documents


def sealed(doc: dict[str, Any]) -> bytes:
    """*doc* (a state read back with ``json.loads``) serialized and sealed as the writer does."""
    body = {k: v for k, v in doc.items() if k != "checksum"}
    return documents.seal(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def write_sealed(path: Path, doc: dict[str, Any]) -> None:
    Path(path).write_bytes(sealed(doc))


def sealed_or_plain(doc: Any) -> bytes:
    """*doc* sealed when it is an object (so the schema, not the checksum, is what a damage test
    reaches), else as plain JSON.  ValueError when it cannot be written as JSON."""
    if isinstance(doc, dict):
        return sealed(doc)
    return json.dumps(doc).encode("utf-8")
