"""The command line as a nurse or a script uses it: exit codes, messages, files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from booklet.cli import app

runner = CliRunner()


def run(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input)


def test_help_lists_commands():
    result = run("--help")
    assert result.exit_code == 0
    for cmd in ("render", "validate", "explain", "examples", "content"):
        assert cmd in result.output


def test_examples_lists_bundled_profiles():
    result = run("examples")
    assert result.exit_code == 0
    assert "stage-iv-hr-pos-her2-pos " in result.output
    assert "stage-iv-hr-pos-her2-pos-full" in result.output


def test_validate_ok_and_bad(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("stage: IV\nher2: positive\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("stage: 5\nher2: maybe\nsex: robot\n")
    result = run("validate", str(good), str(bad))
    assert result.exit_code == 2
    assert f"{good}: ok" in result.stdout
    assert "Profile field 'her2': 'maybe' is not one of positive, low, ultralow, negative, unknown" in result.stderr
    assert "'sex'" in result.stderr and "'stage'" in result.stderr
    assert "Traceback" not in result.output


def test_bad_profile_gives_no_output_file_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("stage: IV\nher2: postive\n")
    out = tmp_path / "out.pdf"
    result = run("render", str(bad), "-o", str(out))
    assert result.exit_code == 2
    assert "did you mean 'positive'?" in result.stderr
    assert not out.exists() and not list(tmp_path.glob("*.part"))
    assert "Traceback" not in result.output


def test_unreadable_inputs(tmp_path):
    assert "no such file" in run("validate", str(tmp_path / "nope.yaml")).stderr
    (tmp_path / "bomb.yaml").write_text("a: &a [*a]\n")
    result = run("validate", str(tmp_path / "bomb.yaml"))
    assert result.exit_code == 2 and "aliases" in result.stderr


def test_profile_from_stdin_as_json():
    result = run("explain", "-", "--json", input='{"stage": "IV", "er": "positive", "her2": "positive"}')
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert set(plan) >= {"profile", "sections", "drugs", "standards", "questions", "glossary"}
    assert all({"name", "why", "status", "card"} <= set(d) for d in plan["drugs"].values())
    assert {d["status"] for d in plan["drugs"].values()} <= {"now", "had", "later"}
    assert all({"id", "title", "why"} <= set(s) for s in plan["sections"])


def test_explain_text_shows_reasons():
    result = run("explain", "--example", "stage-iv-hr-pos-her2-pos")
    assert result.exit_code == 0
    assert "her2 is positive" in result.stdout
    assert "menopause unknown: shown for" in result.stdout


def test_unknown_example_suggests():
    result = run("render", "--example", "stage-iv-hr-pos-her2")
    assert result.exit_code == 2 and "did you mean" in result.stderr


def test_profile_without_pathway_content_is_a_clear_error():
    from booklet.build import require_pathway
    from booklet.content import Library
    from booklet.errors import ProfileError
    from booklet.profile import normalise
    from booklet.select import select

    empty = Library(language="en")
    plan = select(normalise({"stage": "II"}, {}), empty)
    with pytest.raises(ProfileError, match="Profile field 'stage': 'II': no booklet pathway"):
        require_pathway(plan)


def test_render_html_format(tmp_path):
    out = tmp_path / "b.html"
    result = run("render", "--example", "stage-iv-hr-pos-her2-pos", "--format", "html",
                 "-o", str(out), "--date", "2026-11-26")
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and '<html lang="en">' in html


def test_content_check_is_clean():
    result = run("content", "check", "--as-of", "2026-11-26")
    assert result.exit_code == 0, result.output
    assert "content check: ok" in result.stdout


def test_content_check_fails_on_overdue_reviews():
    result = run("content", "check", "--as-of", "2028-01-01")
    assert result.exit_code == 1
    assert "more than 12 months" in result.stderr


def test_help_does_not_import_weasyprint():
    code = ("import sys; from booklet.cli import app; from typer.testing import CliRunner;"
            "CliRunner().invoke(app, ['explain', '--example', 'stage-iv-hr-pos-her2-pos']);"
            "print('weasyprint' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_clinical_rules_table_is_current():
    from booklet import assets

    doc = assets.root() / "docs" / "clinical-rules.md"
    result = run("rules", "--check", "-o", str(doc))
    assert result.exit_code == 0, "docs/clinical-rules.md is out of date: run `booklet rules`"


def test_preview_writes_page_images(tmp_path):
    import pytest as _pytest

    result = run("preview", "--example", "stage-iv-triple-negative", "--out-dir", str(tmp_path), "--dpi", "20")
    assert result.exit_code == 0, result.output
    images = sorted(tmp_path.glob("page-*.png"))
    assert images and images[0].read_bytes().startswith(b"\x89PNG")
    assert f"wrote {len(images)} page images" in result.stdout
    _pytest.importorskip("page")
