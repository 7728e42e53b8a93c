"""Errors a user can act on. Each names the file or field, the value and what is allowed."""

from __future__ import annotations


class BookletError(Exception):
    """Base class: the CLI prints the message and exits with `exit_code`, no traceback."""

    exit_code = 2

    def __init__(self, problems: str | list[str]):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class ProfileError(BookletError):
    """The patient profile is malformed or contradictory."""


class ContentError(BookletError):
    """The bundled content (or a clinic file) breaks the content rules."""


class RenderError(BookletError):
    """HTML or PDF could not be produced."""
