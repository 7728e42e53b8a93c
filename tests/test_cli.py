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
                 "-o", str(out), "--date", "2026-12-04")
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and '<html lang="en">' in html


def test_content_check_is_clean():
    import datetime as dt
    # judged as of today: a review date in the future is an error, and so is one over a
    # year old, which is what keeps the content current to the month
    result = run("content", "check", "--as-of", dt.date.today().isoformat())
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


# ---------------------------------------------------------------- set-up and rough edges

def test_version():
    from booklet import __version__

    result = run("--version")
    assert result.exit_code == 0 and result.stdout == f"booklet {__version__}\n"


def test_shell_completion_is_offered():
    result = run("--help")
    assert "--install-completion" in result.stdout and "--show-completion" in result.stdout
    out = subprocess.run([str(Path(sys.executable).parent / "booklet"), "--show-completion", "bash"],
                         capture_output=True, text=True,
                         # name the shell instead of detecting it from the parent process
                         env={"PATH": "/usr/bin:/bin", "SHELL": "/bin/bash",
                              "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    assert out.returncode == 0, out.stderr
    assert "_BOOKLET_COMPLETE=complete_bash" in out.stdout and "complete -o default -F" in out.stdout


def profile_file(tmp_path, text="stage: IV\nher2: positive\n"):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("out, message", [
    ("./", "error: option '-o': './' is a folder; give a file name, such as ./booklet.pdf"),
    ("{tmp}", "error: option '-o': '{tmp}' is a folder; give a file name, such as {tmp}/booklet.pdf"),
    ("out.docx", "error: option '-o': 'out.docx' would hold a PDF but does not end in .pdf; name it out.pdf"),
    ("booklet", "error: option '-o': 'booklet' would hold a PDF but does not end in .pdf; name it booklet.pdf"),
])
def test_output_must_be_a_pdf_file_name(tmp_path, monkeypatch, out, message):
    monkeypatch.chdir(tmp_path)
    out, message = out.format(tmp=tmp_path), message.format(tmp=tmp_path)
    result = run("render", profile_file(tmp_path), "-o", out)
    assert result.exit_code == 2 and result.stderr == message + "\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.yaml"]


def test_html_output_must_end_in_html(tmp_path):
    result = run("render", profile_file(tmp_path), "-o", str(tmp_path / "b.pdf"), "--format", "html")
    assert result.exit_code == 2
    assert result.stderr == "error: option '-o': 'b.pdf' would hold HTML but does not end in .html; name it b.html\n"


def test_render_keeps_an_existing_file_unless_forced(tmp_path):
    out = tmp_path / "b.html"
    out.write_text("keep me")
    result = run("render", profile_file(tmp_path), "-o", str(out), "--format", "html")
    assert result.exit_code == 2
    assert result.stderr == f"error: option '-o': {out} exists; use --force to overwrite it\n"
    assert out.read_text() == "keep me"
    forced = run("render", profile_file(tmp_path), "-o", str(out), "--format", "html", "--force",
                 "--date", "2026-12-04")
    assert forced.exit_code == 0 and out.read_text().startswith("<!DOCTYPE html>")


def test_output_under_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "afile").write_text("")
    result = run("render", profile_file(tmp_path), "-o", str(tmp_path / "afile" / "b.pdf"))
    assert result.exit_code == 2
    assert f"is a file, not a folder" in result.stderr and "internal error" not in result.stderr


@pytest.mark.parametrize("content, message", [
    ("", "error: option '--password-file': {f} is empty; the password goes on the first line"),
    ("\nsecret-words\n", "error: option '--password-file': {f} is empty on its first line; "
                         "the password goes on the first line"),
    ("short\n", "error: option '--password-file': the password is shorter than 8 characters"),
])
def test_password_file_problems_are_named(tmp_path, monkeypatch, content, message):
    monkeypatch.setenv("BOOKLET_PASSWORD", "")
    pw = tmp_path / "pw.txt"
    pw.write_text(content)
    result = run("render", profile_file(tmp_path), "-o", str(tmp_path / "b.pdf"), "--encrypt",
                 "--password-file", str(pw))
    assert result.exit_code == 2 and result.stderr == message.format(f=pw) + "\n"
    assert "secret-words" not in result.output


def test_readme_says_how_to_run_booklet_after_set_up():
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    quick = readme.split("## Quick start")[1].split("## Commands")[0]
    for words in (".venv/bin/booklet", ". .venv/bin/activate", "pipx install .", "sudo",
                  "booklet --install-completion", "booklet --version"):
        assert words in quick, words


@pytest.mark.render
def test_render_example_script_says_what_it_does(tmp_path):
    root = Path(__file__).parents[1]
    stamp = root / ".venv" / ".booklet-setup"
    import hashlib

    if not stamp.exists() or stamp.read_text().strip() != hashlib.sha256(
            (root / "pyproject.toml").read_bytes()).hexdigest():
        pytest.skip("run scripts/setup.sh first (the script would install packages)")
    out = tmp_path / "dcis.pdf"
    result = subprocess.run([str(root / "scripts" / "render-example"), "stage-0-dcis", str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "set-up: ready (.venv is up to date)" in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"rendering the example 'stage-0-dcis' (") and lines[0].endswith(f") to {out}")
    assert lines[1].startswith(f"wrote {out} (")
    assert out.read_bytes().startswith(b"%PDF")


# ---------------------------------------------------------------- validate a batch input

def test_validate_checks_every_row_of_a_csv_without_rendering(tmp_path):
    src = tmp_path / "day.csv"
    src.write_text("id,stage,her2,er\np1,IV,positive,ER+\np2,IV,maybe,\np3,II,2+,\np3,II,low,\n")
    result = run("validate", str(src))
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        f"{src}: row 4 (p3): note: her2: '2+' is read as unknown (IHC 2+ is equivocal until an "
        "ISH test decides, so no medicine that depends on HER2 is shown; write '2+ ISH negative' "
        "or '2+ ISH positive' when the result is in)",
        f"{src}: 4 rows: 2 ok, 2 with problems"]
    assert result.stderr.splitlines() == [
        f"{src}: row 3 (p2): Profile field 'her2': 'maybe' is not one of positive, low, ultralow, "
        "negative, unknown; the IHC score (0, 1+, 2+ with the ISH result, 3+) is accepted too",
        f"{src}: row 5 (p3): output name p3.pdf is also used by row 4; give each row a unique id"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["day.csv"]


def test_validate_jsonl_and_folder(tmp_path):
    src = tmp_path / "day.jsonl"
    src.write_text('{"id": "a", "stage": "IV"}\n{"id": "b", "stage": "IV", "stage": "I"}\n')
    result = run("validate", str(src))
    assert result.exit_code == 2
    assert result.stderr == f"{src}: line 2: Profile field 'stage': given more than once; keep one\n"
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "ok.yaml").write_text("stage: IV\n")
    (folder / "ok2.json").write_text('{"stage": "II"}')
    good = run("validate", str(folder))
    assert good.exit_code == 0 and good.stdout == f"{folder}: 2 rows: 2 ok, 0 with problems\n"


def test_validate_checks_the_password_column(tmp_path):
    src = tmp_path / "day.csv"
    src.write_text("id,stage,pw\np1,IV,correct-horse\np2,IV,\np3,IV,tiny\n")
    result = run("validate", str(src), "--password-column", "pw")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{src}: row 3 (p2): column 'pw' is empty: with --password-column every row needs its own password",
        f"{src}: row 4 (p3): column 'pw': the password is shorter than 8 characters"]
    assert "correct-horse" not in result.output and "tiny" not in result.output
    missing = run("validate", str(src), "--password-column", "secret")
    assert missing.exit_code == 2
    assert "option '--password-column': day.csv has no column 'secret'; its columns are id, stage, pw" in missing.stderr


def test_render_says_when_her2_2plus_is_read_as_unknown(tmp_path):
    out = tmp_path / "b.html"
    result = run("render", profile_file(tmp_path, "stage: II\nher2: 2+\n"), "-o", str(out),
                 "--format", "html", "--date", "2026-12-04")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("note: her2: '2+' is read as unknown (IHC 2+ is equivocal")
