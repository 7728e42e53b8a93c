"""The renderer loads only the package's own assets: no other file, no network."""

from __future__ import annotations

import pytest

from booklet.errors import RenderError
from booklet.pdf import write_pdf

pytestmark = pytest.mark.render

PAGE = '<!DOCTYPE html><html lang="en"><head><title>t</title>{head}</head><body><p>x</p>{body}</body></html>'


@pytest.mark.parametrize("head, body", [
    ("", '<img src="file:///etc/passwd" alt="x">'),
    ('<link rel="stylesheet" href="file:///etc/passwd">', ""),
    ("", '<img src="http://127.0.0.1:9/x.png" alt="x">'),
    ('<style>@import url("https://example.org/x.css");</style>', ""),
    ("", '<img src="../../../../etc/passwd" alt="x">'),
])
def test_outside_resources_fail_closed(head, body):
    with pytest.raises(RenderError, match="refused to load"):
        write_pdf(PAGE.format(head=head, body=body))


def test_own_assets_load():
    pdf = write_pdf(PAGE.format(head='<link rel="stylesheet" href="booklet.css">', body=""))
    assert pdf.startswith(b"%PDF")


def test_content_cannot_point_outside(tmp_path):
    """A content file with a link, image or file: address fails the content check."""
    import shutil

    from booklet import assets
    from booklet.content import check_library

    root = tmp_path / "content"
    shutil.copytree(assets.path("content"), root)
    step = root / "en" / "steps" / "05-about.md"
    step.write_text(step.read_text() + "\n![x](file:///etc/passwd) and [site](http://127.0.0.1/)\n")
    report = check_library(root=root)
    assert any("links or URLs are not allowed" in p for p in report.problems)
