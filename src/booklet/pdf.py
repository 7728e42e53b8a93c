"""Stage 5: HTML to PDF with WeasyPrint, as PDF/UA-1, reading only the package's assets.

WeasyPrint is imported here only, so commands that do not render stay fast.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from booklet import assets
from booklet.errors import RenderError

PDF_OPTIONS = {"pdf_variant": "pdf/ua-1", "pdf_tags": True, "optimize_images": True}


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
            super().__init__(allowed_protocols=("file",))
            self.roots = roots

        def fetch(self, url: str, headers: Any = None) -> Any:
            if not url.startswith("file:"):
                raise FatalURLFetchingError(f"refused to load {url[:80]}: only the booklet's own assets may be loaded")
            path = Path(url2pathname(url.split("?")[0].removeprefix("file:").removeprefix("//")))
            if not _allowed(path, self.roots):
                raise FatalURLFetchingError(f"refused to load {path}: outside the booklet's assets")
            return super().fetch(url, headers)

    return AssetFetcher


@cache
def _font_config() -> Any:
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def fetcher(extra_roots: tuple[Path, ...] = ()) -> Any:
    return _fetcher_class()(assets.allowed_roots() + list(extra_roots))


def write_pdf(html: str, target: Any = None, extra_roots: tuple[Path, ...] = ()) -> bytes | None:
    """Render `html` to PDF (bytes when target is None). Raises RenderError."""
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    base = assets.path("templates")
    try:
        document = HTML(string=html, base_url=str(base) + "/", url_fetcher=fetcher(extra_roots))
        return document.write_pdf(target, font_config=_font_config(), **PDF_OPTIONS)
    except FatalURLFetchingError as exc:
        raise RenderError(f"render: {exc}") from None
