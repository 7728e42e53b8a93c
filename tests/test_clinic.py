"""Clinic branding: name, phones, logo with alt text; assets only from the clinic's folder."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from booklet.cli import app
from conftest import ROOT

runner = CliRunner()
CLINIC = ROOT / "examples" / "clinic" / "clinic.yaml"


@pytest.mark.render
def test_branded_booklet_is_valid_and_shows_the_clinic(tmp_path):
    import page
    from pypdf import PdfReader

    out = tmp_path / "b.pdf"
    result = runner.invoke(app, ["render", "--example", "stage-iv-triple-negative", "-o", str(out),
                                 "--clinic", str(CLINIC), "--date", "2026-12-04"])
    assert result.exit_code == 0, result.output
    report = page.validate_pdf(out, profile="ua1")
    assert report.is_compliant, [(f.rule_id, f.message) for f in report.failures][:5]
    text = "".join(p.extract_text() for p in PdfReader(out).pages[:3])
    assert "Riverside Regional Cancer Centre" in text
    assert "555-0100" in text and "555-0199" in text
    import pikepdf

    with pikepdf.open(out) as pdf:
        # the logo's alt text repeats the name printed beside it: the logo is decoration
        figures = [o for o in pdf.objects if isinstance(o, pikepdf.Dictionary)
                   and o.get("/S") == pikepdf.Name.Figure]
        alts = [str(f.get("/Alt")) for f in figures]
        assert "Riverside Regional Cancer Centre" not in alts
        assert all(a.startswith("The steps of your care") for a in alts)  # the path figure


def test_logo_alt_text_is_kept_when_it_says_more_than_the_name():
    import dataclasses
    import datetime as dt

    from booklet.build import load_profile, plan_for
    from booklet.clinic import load
    from booklet.context import Options, build_context

    clinic = load(CLINIC)
    plan = plan_for(load_profile(str(ROOT / "examples" / "stage-0-dcis.yaml")))
    context = build_context(plan, Options(date=dt.date(2026, 11, 26), clinic=clinic))
    assert context["clinic"]["logo_alt"] == ""
    described = dataclasses.replace(clinic, logo_alt="A heron over a river")
    context = build_context(plan, Options(date=dt.date(2026, 11, 26), clinic=described))
    assert context["clinic"]["logo_alt"] == "A heron over a river"


@pytest.mark.parametrize("logo, message", [
    ("../../../etc/passwd", "outside the clinic file's folder"),
    ("http://127.0.0.1/logo.png", "not a .png"),
    ("missing.png", "not a .png"),
])
def test_logo_must_be_a_file_in_the_clinic_folder(tmp_path, logo, message):
    clinic = tmp_path / "clinic.yaml"
    clinic.write_text(f"name: Test\nlogo: '{logo}'\nlogo_alt: Test logo\n")
    result = runner.invoke(app, ["render", "--example", "stage-iv-triple-negative", "-o",
                                 str(tmp_path / "b.pdf"), "--clinic", str(clinic)])
    assert result.exit_code == 2 and message in result.stderr
    assert not (tmp_path / "b.pdf").exists()


def test_logo_needs_alt_text(tmp_path):
    shutil.copy(ROOT / "examples" / "clinic" / "logo.png", tmp_path / "logo.png")
    clinic = tmp_path / "clinic.yaml"
    clinic.write_text("name: Test\nlogo: logo.png\n")
    result = runner.invoke(app, ["render", "--example", "stage-iv-triple-negative", "--clinic", str(clinic),
                                 "-o", str(tmp_path / "b.pdf")])
    assert result.exit_code == 2 and "logo_alt" in result.stderr


@pytest.mark.render
def test_svg_logo_cannot_reach_outside(tmp_path):
    (tmp_path / "logo.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10">'
        '<image xlink:href="file:///etc/passwd" width="10" height="10"/></svg>')
    clinic = tmp_path / "clinic.yaml"
    clinic.write_text("name: Test\nlogo: logo.svg\nlogo_alt: Test logo\n")
    out = tmp_path / "b.pdf"
    result = runner.invoke(app, ["render", "--example", "stage-iv-triple-negative", "--clinic", str(clinic),
                                 "-o", str(out)])
    assert result.exit_code == 2 and "refused to load" in result.stderr
    assert not out.exists()
