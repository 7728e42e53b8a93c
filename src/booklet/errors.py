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


def in_language(problems: list[str], language: object) -> list[str]:
    """A profile's problems in its own language: French profiles get the French wording from
    the `profile_errors` patterns of content/fr/ui.yaml. Field names and values stay as the
    profile writes them."""
    lang = str(language or "en").strip().lower()
    if lang not in ("fr", "fr-ca", "french", "français", "francais"):
        return problems
    import re

    from booklet.content import cached_library  # late: content imports the profile module
    pairs = cached_library("fr").ui.get("profile_errors", [])
    out = []
    for text in problems:
        for pattern, french in pairs:
            text = re.sub(pattern, french, text)
        out.append(text)
    return out
