"""Saddle-stitch imposition: page order on the printed sheets, no scaling, padding to 4."""

from __future__ import annotations

import subprocess

import pytest

from booklet.finish import impose, saddle_order
from booklet.pdf import write_pdf

PAGE = ('<!DOCTYPE html><html lang="en"><head><title>t</title>'
        '<style>@page {{ size: 5.5in 8.5in; margin: 0.5in }} p {{ font-size: 40pt; break-after: page }}</style>'
        '</head><body>{}</body></html>')


def pdf_with_pages(labels):
    return write_pdf(PAGE.format("".join(f"<p>{label}</p>" for label in labels)))


def halves(pdf: bytes, side: int) -> tuple[str, str]:
    def crop(x):
        out = subprocess.run(["pdftotext", "-f", str(side), "-l", str(side), "-x", str(x), "-y", "0",
                              "-W", "396", "-H", "612", "-", "-"], input=pdf, capture_output=True, check=True)
        return out.stdout.decode().split()[0] if out.stdout.split() else ""
    return crop(0), crop(396)


def test_saddle_order_for_8_pages():
    assert saddle_order(8) == [(7, 0), (1, 6), (5, 2), (3, 4)]
    with pytest.raises(ValueError):
        saddle_order(6)


def test_imposed_sheets_read_in_order_after_folding():
    booklet = pdf_with_pages([f"P{n}" for n in range(1, 7)])   # 6 pages
    pad = pdf_with_pages(["N7", "N8"])                          # 2 write-in pages
    sheets = impose(booklet, pad)
    from pypdf import PdfReader

    reader = PdfReader(__import__("io").BytesIO(sheets))
    assert len(reader.pages) == 4  # 8 pages, 2 sheets, both sides
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == (792.0, 612.0)  # landscape Letter, no scaling
    got = [halves(sheets, side) for side in range(1, 5)]
    assert got == [("N8", "P1"), ("P2", "N7"), ("P6", "P3"), ("P4", "P5")]
