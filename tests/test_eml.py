"""Email drafts (--eml) and per-row passwords (--password-column): what is in each file,
and what never is (the password, anywhere; the email address, outside the draft)."""

from __future__ import annotations

import email
import email.policy
import io
import json

import pytest
from typer.testing import CliRunner

from booklet.cli import app
from booklet.draft import email_draft

runner = CliRunner()
EMAIL = "zora.q@example.ca"


def parse(data: bytes):
    return email.message_from_bytes(data, policy=email.policy.default)


def attachment(msg) -> tuple[str, bytes]:
    (part,) = list(msg.iter_attachments())
    return part.get_filename(), part.get_content()


def test_draft_is_unsent_has_the_pdf_and_no_password():
    pdf = b"%PDF-1.7 not a real booklet\n%%EOF\n"
    data = email_draft(pdf, "p1.pdf", EMAIL, encrypted=True, clinic="Lakeside Cancer Centre")
    assert data == email_draft(pdf, "p1.pdf", EMAIL, encrypted=True, clinic="Lakeside Cancer Centre")
    msg = parse(data)
    assert msg["X-Unsent"] == "1" and msg["To"] == EMAIL and "Date" not in msg
    assert attachment(msg) == ("p1.pdf", pdf)
    body = msg.get_body(("plain",)).get_content()
    assert "locked with a password" in body and "It is not in this email." in body
    assert "Lakeside Cancer Centre" in body
    plain = parse(email_draft(pdf, "p1.pdf"))
    assert "To" not in plain and "password" not in plain.get_body(("plain",)).get_content()


def test_eml_needs_pdf_format(tmp_path):
    result = runner.invoke(app, ["render", "--example", "stage-0-dcis", "--eml", "--format", "html",
                                 "-o", str(tmp_path / "b.html")])
    assert result.exit_code == 2 and "option '--eml' works with --format pdf only" in result.stderr


@pytest.mark.render
def test_render_eml_attaches_the_pdf_byte_for_byte(tmp_path):
    profile = {"stage": "IV", "er": "positive", "her2": "positive", "name": "Zora Quill",
               "email": EMAIL}
    out = tmp_path / "zq.pdf"
    result = runner.invoke(app, ["render", "-", "-o", str(out), "--eml", "--date", "2026-12-04"],
                           input=json.dumps(profile))
    assert result.exit_code == 0, result.output
    draft = tmp_path / "zq.eml"
    assert result.stdout.splitlines()[-1] == (f"wrote {draft}: an unsent email draft with the "
                                              "booklet attached")
    msg = parse(draft.read_bytes())
    assert msg["X-Unsent"] == "1" and msg["To"] == EMAIL
    assert attachment(msg) == ("zq.pdf", out.read_bytes())
    # the address is in the draft only: not in the booklet, its metadata or the output
    from pypdf import PdfReader

    pdf = out.read_bytes()
    reader = PdfReader(io.BytesIO(pdf))
    text = "".join(page.extract_text() for page in reader.pages)
    meta = json.dumps({k: str(v) for k, v in (reader.metadata or {}).items()})
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8", "replace")
    assert "zora.q" not in text + meta + xmp + result.output
    assert b"zora.q" not in pdf
    again = runner.invoke(app, ["render", "-", "-o", str(out), "--eml"], input=json.dumps(profile))
    assert again.exit_code == 2 and f"{out} exists; use --force" in again.stderr


@pytest.mark.render
def test_batch_per_row_passwords_and_drafts(tmp_path):
    import csv

    import pikepdf

    passwords = {"a1": "apricot-lantern-41", "b2": "walnut-harbour-77"}
    src = tmp_path / "day.csv"
    src.write_text("id,stage,er,her2,email,pw\n"
                   f"a1,IV,positive,positive,{EMAIL},{passwords['a1']}\n"
                   f"b2,II,negative,negative,,{passwords['b2']}\n"
                   "c3,IV,positive,positive,,\n"
                   "d4,IV,positive,positive,,tiny-1\n")
    out = tmp_path / "out"
    result = runner.invoke(app, ["batch", str(src), "--out-dir", str(out), "--encrypt",
                                 "--password-column", "pw", "--eml", "--jobs", "1",
                                 "--date", "2026-12-04"])
    assert result.exit_code == 1, result.output
    assert "2 rendered, 0 skipped, 2 failed" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["a1.eml", "a1.pdf", "b2.eml", "b2.pdf", "errors.csv"]
    with open(out / "errors.csv") as f:
        rows = [(r["id"], r["field"], r["message"]) for r in csv.DictReader(f)]
    assert rows == [
        ("c3", "pw", "column 'pw' is empty: with --password-column every row needs its own password"),
        ("d4", "pw", "column 'pw': the password is shorter than 8 characters")]
    for row_id, password in passwords.items():
        pdf = (out / f"{row_id}.pdf").read_bytes()
        with pikepdf.open(io.BytesIO(pdf), password=password) as doc:
            assert len(doc.pages) > 4
        other = next(p for k, p in passwords.items() if k != row_id)
        with pytest.raises(pikepdf.PasswordError):
            pikepdf.open(io.BytesIO(pdf), password=other)
        draft = (out / f"{row_id}.eml").read_bytes()
        msg = parse(draft)
        assert attachment(msg) == (f"{row_id}.pdf", pdf)
        assert "It is not in this email." in msg.get_body(("plain",)).get_content()
        assert msg["To"] == (EMAIL if row_id == "a1" else None)
    everything = result.output + (out / "errors.csv").read_text()
    everything += "".join((out / f"{k}.eml").read_bytes().decode("ascii", "replace") for k in passwords)
    # every secret holds a "-", which base64 (the attachment's encoding) never does
    for secret in [*passwords.values(), "tiny-1"]:
        assert secret not in everything
    assert EMAIL not in result.output + (out / "errors.csv").read_text()


def test_email_is_part_of_the_profile_but_never_shown():
    profile = {"stage": "IV", "her2": "positive", "email": EMAIL}
    for args in (["explain", "-"], ["explain", "-", "--json"], ["validate", "-"]):
        result = runner.invoke(app, args, input=json.dumps(profile))
        assert result.exit_code == 0, result.output
        assert "zora.q" not in result.output
    bad = runner.invoke(app, ["validate", "-"], input=json.dumps(dict(profile, email="zora.q at home")))
    assert bad.exit_code == 2
    assert bad.stderr == ("<stdin>: Profile field 'email': is not an email address (write it like "
                          "name@example.ca)\n")
