"""Stage 4: render the template context to HTML (Jinja2, StrictUndefined, autoescape)."""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2

from booklet import assets


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(assets.path("templates"))),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a silent blank in a patient booklet is a defect
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(context: dict[str, Any]) -> str:
    return environment().get_template("booklet.html.j2").render(**context)


def render_notes_html(context: dict[str, Any], pages: int) -> str:
    """Write-in pages that pad a saddle-stitched booklet."""
    return environment().get_template("notes.html.j2").render(**context, pad_pages=pages)
