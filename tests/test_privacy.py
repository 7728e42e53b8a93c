"""The patient's name appears on the cover only: not in logs, messages, file names or metadata."""

from __future__ import annotations

import json
import logging

import pytest
from typer.testing import CliRunner

from booklet.cli import app

pytestmark = pytest.mark.render
NAME = "Zebulon Quartermaine"
PROFILE = {"stage": "IV", "er": "positive", "her2": "positive", "menopause": "post",
           "metastases": ["bone"], "name": NAME, "care_team": {"nurse": "R. Okafor"}}


def test_name_only_on_the_cover(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    runner = CliRunner()
    out = tmp_path / "out.pdf"
    result = runner.invoke(app, ["render", "-", "-o", str(out), "--date", "2026-12-04"],
                           input=json.dumps(PROFILE))
    assert result.exit_code == 0, result.output
    assert "Zebulon" not in result.output
    assert "Zebulon" not in caplog.text
    assert [p.name for p in tmp_path.iterdir()] == ["out.pdf"]
    from pypdf import PdfReader

    reader = PdfReader(out)
    meta = json.dumps({k: str(v) for k, v in (reader.metadata or {}).items()})
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8", "replace")
    assert "Zebulon" not in meta and "Zebulon" not in xmp
    text = "".join(page.extract_text() for page in reader.pages)
    assert text.count("Zebulon") == 1


def test_name_in_metadata_only_when_asked(tmp_path):
    runner = CliRunner()
    out = tmp_path / "out.pdf"
    result = runner.invoke(app, ["render", "-", "-o", str(out), "--name-in-metadata",
                                 "--date", "2026-12-04"], input=json.dumps(PROFILE))
    assert result.exit_code == 0
    from pypdf import PdfReader

    assert NAME in str(PdfReader(out).metadata.title)


def test_errors_do_not_echo_free_text(tmp_path):
    runner = CliRunner()
    bad = dict(PROFILE, her2="maybe", care_team={"nurse": "Zebulon\u200b"})
    result = runner.invoke(app, ["validate", "-"], input=json.dumps(bad))
    assert result.exit_code == 2
    assert "Zebulon" not in result.output
