"""Where the package's own assets live: templates, content, fonts and examples.

In an installed wheel they sit in `booklet/_assets/`; in a source checkout (editable
install, tests) they are the top-level folders of the repository.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

NAMES = ("templates", "content", "fonts", "examples")


@cache
def root() -> Path:
    packaged = Path(__file__).resolve().parent / "_assets"
    if (packaged / "content").is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "content").is_dir():
        return checkout
    raise FileNotFoundError("booklet assets not found: reinstall the package")


def path(name: str) -> Path:
    if name not in NAMES:
        raise ValueError(name)
    return root() / name


def allowed_roots() -> list[Path]:
    """Folders the renderer may read from (see render's URL fetcher)."""
    return [path(n) for n in ("templates", "fonts")]
