"""Finishing steps: AES-256 encryption that keeps accessibility and structure."""

from __future__ import annotations

import io

import pikepdf
import pytest
from typer.testing import CliRunner

from booklet.cli import app
from booklet.finish import encrypt, finish
from conftest import example_data, render_profile

pytestmark = pytest.mark.render
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def plain():
    return render_profile(example_data("stage-iv-hr-pos-her2-pos-full")).pdf


def test_encrypt_aes256_keeps_accessibility_structure_and_size(plain):
    locked = finish(plain, [("encrypt", {"password": PASSWORD})])
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(locked))
    with pikepdf.open(io.BytesIO(locked), password=PASSWORD) as doc:
        assert doc.encryption.bits == 256
        assert doc.allow.accessibility and doc.allow.extract
        root = doc.Root
        assert "/StructTreeRoot" in root and str(root.Lang) == "en"
        assert bool(root.MarkInfo.Marked)
    assert len(locked) < len(plain) * 1.15  # object streams kept: no blow-up


def test_cli_needs_a_password_from_file_or_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("BOOKLET_PASSWORD", raising=False)
    runner = CliRunner()
    out = tmp_path / "b.pdf"
    result = runner.invoke(app, ["render", "--example", "stage-iv-hr-pos-her2-pos", "-o", str(out), "--encrypt"])
    assert result.exit_code == 2 and "BOOKLET_PASSWORD" in result.stderr and not out.exists()
    short = tmp_path / "pw"
    short.write_text("abc\n")
    result = runner.invoke(app, ["render", "--example", "stage-iv-hr-pos-her2-pos", "-o", str(out),
                                 "--encrypt", "--password-file", str(short)])
    assert result.exit_code == 2 and "shorter than 8" in result.stderr


def test_cli_encrypts_with_a_password_file(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD + "\n")
    out = tmp_path / "b.pdf"
    result = CliRunner().invoke(app, ["render", "--example", "stage-iv-hr-pos-her2-pos-full", "-o", str(out),
                                      "--encrypt", "--password-file", str(pw), "--date", "2026-12-04"])
    assert result.exit_code == 0, result.output
    with pikepdf.open(out, password=PASSWORD) as doc:
        assert doc.is_encrypted and len(doc.pages) > 10


def test_encrypt_function_is_registered():
    from booklet.finish import STEPS

    assert STEPS["encrypt"] is encrypt
