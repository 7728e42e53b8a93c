"""Stage 4: render the template context to HTML (Jinja2, StrictUndefined, autoescape)."""

from __future__ import annotations

import re
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
    html = environment().get_template("booklet.html.j2").render(**context)
    return french_spacing(html) if str(context.get("lang", "")).startswith("fr") else html


# tags, style sheets and character references (&#39; must keep its semicolon)
_MARKUP = re.compile(r"(<style\b.*?</style>|<[^>]+>|&#?\w+;)", re.S)
# punctuation right after an inline element or a character reference: "<strong>X</strong>: y"
_AFTER_INLINE = re.compile(r"</(?:strong|em|b|i|a|span|abbr|cite|code|sup|sub)>|&#?\w+;")
_LEADING = re.compile(r"^[ \u00a0\u202f]*([:;!?»])(?!//)(?!\d)")
NBSP = "\u00a0"  # the fonts have no narrow no-break space (U+202F); OQLF accepts this one


def french_spacing(html: str) -> str:
    """French typography in the text (never in tags, styles or character references): a
    no-break space before : ; ! ? and », after «, between a number and its unit, and in
    1 000."""
    parts = _MARKUP.split(html)
    for n in range(0, len(parts), 2):  # text between tags
        text = spacing(parts[n])
        if n and _AFTER_INLINE.fullmatch(parts[n - 1]):
            text = _LEADING.sub(NBSP + r"\1", text)
        parts[n] = text
    return "".join(parts)


def spacing(text: str) -> str:
    # before : ; ! ? » (not in an address such as https://, nor a time such as 14:30)
    text = re.sub(r"(?<=[\w)»…’.])[ \u00a0\u202f]*([:;!?»])(?!//)(?!\d)", NBSP + r"\1", text)
    text = re.sub(r"«[ \u00a0\u202f]*", "«" + NBSP, text)
    text = re.sub(r"(\d) (?=(°C|%|cm|mm|mg|kg|h|min|ans|mois|semaines|jours)\b)", r"\1" + NBSP, text)
    text = re.sub(r"(?<=\d) (?=\d{3}\b)", NBSP, text)
    return text


def render_notes_html(context: dict[str, Any], pages: int) -> str:
    """Write-in pages that pad a saddle-stitched booklet."""
    return environment().get_template("notes.html.j2").render(**context, pad_pages=pages)
