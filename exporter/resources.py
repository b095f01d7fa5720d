"""Where the packaged templates and sample digests are, installed or not.

In a wheel, ``templates/`` is installed as ``exporter/templates`` (see
``pyproject.toml``, ``force-include``).  In a source checkout or an editable
install it is the top-level ``templates/`` folder beside the package.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def templates_dir() -> Path:
    for candidate in (PACKAGE_DIR / "templates", PACKAGE_DIR.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the packaged templates folder is missing; reinstall digest-export")


def sample_dir() -> Path:
    """The bundled sample digests, used when no INPUT is given."""
    return PACKAGE_DIR / "sample"
