"""Stage 5: HTML to PDF with WeasyPrint, as PDF/UA-1, reading only the package's assets.

WeasyPrint is imported here only, so commands that do not render stay fast.
"""

from __future__ import annotations

import atexit
import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from booklet import assets
from booklet.errors import RenderError

PDF_OPTIONS = {"pdf_variant": "pdf/ua-1", "pdf_tags": True, "pdf_forms": True, "optimize_images": True}

# The structure element key that carries each element's HTML origin to the finishing step
# (booklet.tagging), which reads it and removes it.
LABEL = "/BookletOrigin"


@cache
def _label_structure() -> None:
    """Label every structure element WeasyPrint writes with the HTML element it comes from.

    WeasyPrint 70 builds the structure tree one page at a time: an element that crosses a
    page break becomes one structure element per page, and the columns of a multi-column
    list become lists inside the list (Kozea/WeasyPrint#2902, #2903). The finishing step
    joins the pieces again; to know which pieces belong together it needs their origin,
    which the PDF alone does not say. The label is "element|tag|scope": an identifier of
    the HTML element (unique during one render), its tag (with ::marker and the like), and
    the scope attribute of table headers, which WeasyPrint does not write either (#2508).
    """
    import pydyf
    from weasyprint.pdf import tags

    original = tags._build_box_tree  # calls itself through the module: every level is labelled
    key = LABEL[1:]

    def build_box_tree(box, parent, pdf, page_number, nums, annotations, marks):  # type: ignore[no-untyped-def]
        origin = getattr(box, "_box", box)  # absolutely positioned boxes are wrapped
        for element in original(box, parent, pdf, page_number, nums, annotations, marks):
            if key not in element and origin.element is not None:  # innermost call labels first
                scope = origin.element.get("scope", "") if origin.element_tag == "th" else ""
                element[key] = pydyf.String(f"{id(origin.element):x}|{origin.element_tag}|{scope}")
            yield element

    tags._build_box_tree = build_box_tree


def _allowed(path: Path, roots: list[Path]) -> bool:
    resolved = path.resolve()
    return any(resolved.is_relative_to(r.resolve()) for r in roots)


@cache
def _fetcher_class() -> Any:
    from urllib.request import url2pathname

    from weasyprint.urls import FatalURLFetchingError, URLFetcher

    class AssetFetcher(URLFetcher):
        """Serve file: URLs under the allowed folders; refuse everything else, loudly."""

        def __init__(self, roots: list[Path]):
            super().__init__(allowed_protocols=("file", "data"))
            self.roots = roots
            self.refused: list[str] = []  # WeasyPrint swallows errors inside SVG: remember them

        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("data:image/svg+xml;base64,"):
                return super().fetch(url, headers)  # drawn by the booklet; loads nothing
            if not url.startswith("file:"):
                self.refused.append(f"refused to load {url[:80]}: only the booklet's own assets may be loaded")
                raise FatalURLFetchingError(self.refused[-1])
            path = Path(url2pathname(url.split("?")[0].removeprefix("file:").removeprefix("//")))
            if not _allowed(path, self.roots):
                self.refused.append(f"refused to load {path}: outside the booklet's assets")
                raise FatalURLFetchingError(self.refused[-1])
            return super().fetch(url, headers)

    return AssetFetcher


@atexit.register
def _release() -> None:
    """Drop the cached font configuration while WeasyPrint's libraries are still loaded
    (its destructor fails noisily during interpreter shutdown otherwise)."""
    _stylesheet.cache_clear()
    _font_config.cache_clear()


@cache
def _font_config() -> Any:
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


@cache
def _stylesheet() -> Any:
    """booklet.css parsed once per process (batch workers reuse it for every booklet).

    Parsing it loads the @font-face fonts: WeasyPrint turns each WOFF file into TrueType
    with fontTools, whose save() stamps the font's `head.modified` with the current time
    (or SOURCE_DATE_EPOCH), and the stamp is carried into every subset embedded in every
    PDF this process writes. Parsed by a batch worker's warm-up, it was the wall-clock time,
    so two runs of the same batch differed. The stamp is pinned to the font file's own.
    """
    from weasyprint import CSS

    css = assets.path("templates") / "booklet.css"
    with _pinned_epoch(_font_stamp()):
        return CSS(filename=str(css), url_fetcher=fetcher(), font_config=_font_config())


def _font_stamp() -> int:
    """The bundled font's own `head.modified`, as seconds since 1970."""
    from fontTools.misc.timeTools import epoch_diff
    from fontTools.ttLib import TTFont

    font = sorted(assets.path("fonts").glob("*.woff"))[0]
    with TTFont(str(font), lazy=True) as ttfont:
        return int(ttfont["head"].modified + epoch_diff)


@contextmanager
def _pinned_epoch(seconds: int) -> Iterator[None]:
    saved = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(seconds)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = saved


def fetcher(extra_roots: tuple[Path, ...] = ()) -> Any:
    return _fetcher_class()(assets.allowed_roots() + list(extra_roots))


@contextmanager
def _source_date(day: dt.date | None) -> Iterator[None]:
    """Font subsetting stamps fonts with SOURCE_DATE_EPOCH (else now): pin it to `day`."""
    if day is None or "SOURCE_DATE_EPOCH" in os.environ:
        yield
        return
    os.environ["SOURCE_DATE_EPOCH"] = str(int(dt.datetime(day.year, day.month, day.day,
                                                         tzinfo=dt.timezone.utc).timestamp()))
    try:
        yield
    finally:
        os.environ.pop("SOURCE_DATE_EPOCH", None)


def render_pdf(html: str, extra_roots: tuple[Path, ...] = (),
               day: dt.date | None = None) -> tuple[bytes, int]:
    """Render `html` to PDF bytes and count its pages. Raises RenderError.

    The same HTML and `day` give the same bytes.
    """
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    base = assets.path("templates")
    guard = fetcher(extra_roots)
    _label_structure()
    try:
        with _source_date(day):
            sheets = [] if 'href="booklet.css"' in html else [_stylesheet()]
            document = HTML(string=html, base_url=str(base) + "/", url_fetcher=guard).render(
                font_config=_font_config(), stylesheets=sheets, **PDF_OPTIONS)
            pdf = document.write_pdf(**PDF_OPTIONS)
    except FatalURLFetchingError as exc:
        raise RenderError(f"render: {exc}") from None
    if guard.refused:  # fail closed even where WeasyPrint carried on without the resource
        raise RenderError(f"render: {guard.refused[0]}")
    return pdf, len(document.pages)


def write_pdf(html: str, extra_roots: tuple[Path, ...] = (), day: dt.date | None = None) -> bytes:
    return render_pdf(html, extra_roots, day)[0]


def warm_up() -> None:
    """Import WeasyPrint, parse the stylesheet and load fonts once (batch workers call this
    before their first row)."""
    write_pdf('<!DOCTYPE html><html lang="en"><head><title>warm up</title></head>'
              '<body><p>Warm up.</p></body></html>')
