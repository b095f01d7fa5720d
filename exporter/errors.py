"""One exception hierarchy; the CLI turns each into a message and exit status.

Messages are sentences for the user.  Raise them ``from`` the original error
so that ``--verbose`` tracebacks still show the cause.
"""

from __future__ import annotations

from collections.abc import Sequence

from .model import Diagnostic, counted


class ExporterError(Exception):
    """Base class: anything digest-export reports to the user and exits on."""

    exit_code = 1


class UsageError(ExporterError):
    """Options or arguments that cannot work together (exit status 2)."""

    exit_code = 2


class ConfigError(UsageError):
    """A config file that cannot be read, or a key/type it must not have."""


class InputError(ExporterError):
    """The inputs hold errors; nothing was written (exit status 1)."""

    def __init__(self, diagnostics: Sequence[Diagnostic]):
        self.diagnostics = tuple(diagnostics)
        n = sum(1 for d in self.diagnostics if d.is_error)
        super().__init__(
            f"{counted(n, 'error')} in the input; no file was written "
            "(use --keep-going to write what can be written)"
        )


class EmptyInputError(ExporterError):
    """The inputs hold no digest day: nothing is written unless --allow-empty (exit status 1)."""


class TemplateError(ExporterError):
    """A template is missing or does not render."""


class OutputError(ExporterError):
    """An output file or folder cannot be written."""
