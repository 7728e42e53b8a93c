"""Shared fixtures. Renders are cached per session: WeasyPrint takes about a second each."""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("ci", deadline=None, derandomize=True, max_examples=300,
                          print_blob=True)
settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
AS_OF = dt.date(2026, 12, 4)  # review dates are judged against this, not the calendar
DATE = "2026-12-04"


@pytest.fixture(scope="session")
def library():
    from booklet.content import load_library

    return load_library()


def profile_from(data: dict):
    from booklet.content import cached_library
    from booklet.profile import normalise

    return normalise(data, cached_library().drug_names)


class Rendered:
    """A rendered booklet and what a reader (or screen reader) gets from it."""

    def __init__(self, pdf: bytes, html: str, plan, print_pdf: bytes | None = None):
        self.pdf = pdf
        self.html = html
        self.plan = plan
        self.print_pdf = print_pdf  # the imposed print file, with imposition="booklet"
        self.print_pages = 0

    @property
    def reader(self):
        from pypdf import PdfReader

        return PdfReader(io.BytesIO(self.pdf))

    def text(self) -> str:
        out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=self.pdf,
                             capture_output=True, check=True)
        return out.stdout.decode()

    def raw_text(self) -> str:
        out = subprocess.run(["pdftotext", "-", "-"], input=self.pdf, capture_output=True, check=True)
        return out.stdout.decode()


_CACHE: dict[tuple, Rendered] = {}


def render_profile(data: dict, **options) -> Rendered:
    from booklet.build import build
    from booklet.context import Options

    key = (repr(sorted(data.items())), repr(sorted(options.items())))
    if key not in _CACHE:
        opts = Options(date=AS_OF, **options)
        result = build(profile_from(data), opts)
        _CACHE[key] = Rendered(result.pdf, result.html, result.plan, result.print_pdf)
        _CACHE[key].print_pages = result.print_pages
    return _CACHE[key]


def example_data(name: str) -> dict:
    from booklet.profile import parse_text

    return parse_text((EXAMPLES / f"{name}.yaml").read_text(), name)


@pytest.fixture(scope="session")
def pdftotext_available():
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (poppler-utils) is required: run scripts/test, which installs it")
    return True


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Nothing in the suite may reach the network."""
    monkeypatch.setenv("no_proxy", "*")
    yield


os.environ.setdefault("SOURCE_DATE_EPOCH", "1796342400")  # 2026-12-04
