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
    """The inputs hold no digest day: nothing is written unless --allow-empty (exit status 1),
    for every command that reads digests, ``inspect`` too: an empty folder or a wrong path is
    input that holds nothing, not a command line that cannot work (exit status 2)."""

    @staticmethod
    def no_day(files: int | None = None, *, writes: bool = False) -> str:
        """The message, the same for every command: how many files were read, and what
        ``--allow-empty`` would do."""
        read = f" ({counted(files, 'file')} read)" if files is not None else ""
        if writes:
            return f"no digest day in the input{read}; nothing written (use --allow-empty to write empty outputs)"
        return f"no digest day in the input{read} (use --allow-empty to accept that)"


class TemplateError(ExporterError):
    """A template is missing or does not render."""


class OutputError(ExporterError):
    """An output file or folder cannot be written."""
