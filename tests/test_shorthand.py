"""What pathology reports and nurses write is accepted, and each form says what it became."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from booklet.cli import app
from booklet.errors import ProfileError
from booklet.profile import normalise, parse_text
from conftest import ROOT

KNOWN = {"trastuzumab": ["Trastuzumab", "Herceptin"], "pertuzumab": ["Pertuzumab", "Perjeta"]}
runner = CliRunner()


def read(data):
    return normalise(data, KNOWN)


def problems(data) -> list[str]:
    with pytest.raises(ProfileError) as info:
        normalise(data, KNOWN)
    return info.value.problems


@pytest.mark.parametrize("field, given, value", [
    ("er", "ER+", "positive"), ("er", "ER-", "negative"), ("er", "er positive", "positive"),
    ("pr", "PR+", "positive"), ("pr", "PR-", "negative"), ("pr", "PgR+", "positive"),
    ("hr", "HR+", "positive"), ("er", "+", "positive"),
])
def test_receptor_shorthand(field, given, value):
    p = read({field: given})
    assert getattr(p, field) == value
    assert f"{field}: '{given}' is read as {value}" in [str(r).split(" (")[0] for r in p.readings] \
        or given == value


def test_receptor_given_for_the_wrong_field_says_so():
    assert problems({"er": "PR+"}) == [
        "Profile field 'er': 'PR+' is the PR status, not ER (did you mean pr: positive?)"]


@pytest.mark.parametrize("given, value, note", [
    (0, "negative", "IHC 0 is HER2-negative"),
    ("0", "negative", "IHC 0 is HER2-negative"),
    ("IHC 0", "negative", "IHC 0 is HER2-negative"),
    ("1+", "low", "IHC 1+ is HER2-low"),
    ("HER2 1+", "low", "IHC 1+ is HER2-low"),
    ("2+ ISH negative", "low", "IHC 2+ with a negative ISH test is HER2-low"),
    ("2+/ISH-", "low", "IHC 2+ with a negative ISH test is HER2-low"),
    ("2+, FISH not amplified", "low", "IHC 2+ with a negative ISH test is HER2-low"),
    ("2+ ISH positive", "positive", "IHC 2+ with a positive ISH test is HER2-positive"),
    ("2+ (FISH+)", "positive", "IHC 2+ with a positive ISH test is HER2-positive"),
    ("3+", "positive", "IHC 3+ is HER2-positive"),
    ("HER2-low", "low", ""),
    ("HER2-ultralow", "ultralow", ""),
    ("ultralow", "ultralow", ""),
    ("HER2+", "positive", ""),
    ("HER2 negative", "negative", ""),
])
def test_her2_as_a_report_gives_it(given, value, note):
    p = read({"her2": given})
    assert p.her2 == value
    if note:
        assert p.readings[0].note == note and not p.warnings


def test_her2_2plus_without_ish_is_unknown_and_says_so():
    p = read({"her2": "2+"})
    assert p.her2 == "unknown"
    assert p.warnings == ["her2: '2+' is read as unknown (IHC 2+ is equivocal until an ISH "
                          "test decides, so no medicine that depends on HER2 is shown; write "
                          "'2+ ISH negative' or '2+ ISH positive' when the result is in)"]


def test_her2_bare_digit_is_refused_with_the_score_forms():
    assert problems({"her2": 2}) == [
        "Profile field 'her2': '2' is not a HER2 result: write the IHC score as 0, 1+, 2+ or 3+, "
        "or one of positive, low, ultralow, negative, unknown"]


@pytest.mark.parametrize("given, code", [
    ("Ontario", "ON"), ("Québec", "QC"), ("Quebec", "QC"), ("british columbia", "BC"),
    ("Colombie-Britannique", "BC"), ("Nouvelle-Écosse", "NS"), ("Île-du-Prince-Édouard", "PE"),
    ("PEI", "PE"), ("Newfoundland & Labrador", "NL"), ("Terre-Neuve-et-Labrador", "NL"),
    ("Territoires du Nord-Ouest", "NT"), ("Yukon", "YT"), ("on", "ON"),
])
def test_province_names_in_english_and_french(given, code):
    assert read({"province": given}).province == code


def test_unknown_province_lists_codes_and_says_names_work():
    msg = problems({"province": "Ontaria"})[0]
    assert msg.startswith("Profile field 'province': 'Ontaria' is not one of AB, BC,")
    assert "or the name of a province or territory (English or French)" in msg


@pytest.mark.parametrize("data, field, value", [
    ({"stage": "IV", "metastases": "bone, liver"}, "metastases", ("bone", "liver")),
    ({"stage": "IV", "metastases": "Bones; lymph nodes"}, "metastases", ("bone", "lymph-nodes")),
    ({"stage": "IV", "prior_therapies": "Herceptin, pertuzumab"}, "prior_therapies",
     ("trastuzumab", "pertuzumab")),
    ({"stage": "IV", "current_therapies": "trastuzumab, Perjeta"}, "current_therapies",
     ("trastuzumab", "pertuzumab")),
])
def test_comma_separated_strings_are_lists(data, field, value):
    assert getattr(read(data), field) == value


@pytest.mark.parametrize("given, stage", [("2B", "II"), ("IIIA", "III"), ("stage IIb", "II"),
                                          ("1a", "I"), ("3 C", "III"), ("Stage 4", "IV")])
def test_sub_stages(given, stage):
    assert read({"stage": given}).stage == stage


@pytest.mark.parametrize("given", ["pT2N1", "pT2 N1 M0", "ypT1c N0", "T3N2", "cT4bN3M0"])
def test_tnm_is_refused_with_a_hint(given):
    msg = problems({"stage": given})[0]
    assert msg == (f"Profile field 'stage': '{given}' is a TNM description, not a stage group; "
                   "write the stage group (0, I, II, III or IV) from the full prognostic staging "
                   "in the pathology report")


def test_tnm_with_m1_points_to_stage_iv():
    assert problems({"stage": "T2N1M1"})[0].endswith("(M1 means stage IV: write stage: IV)")


def test_duplicate_yaml_key_names_its_lines():
    with pytest.raises(ProfileError) as info:
        parse_text("stage: IV\nher2: low\nstage: III\nbiomarkers:\n  brca: positive\n  brca: negative\n",
                   "p.yaml")
    assert info.value.problems == [
        "p.yaml: Profile field 'stage': given more than once, on lines 1 and 3; keep one",
        "p.yaml: Profile field 'biomarkers.brca': given more than once, on lines 5 and 6; keep one"]


def test_duplicate_json_key_names_its_lines():
    text = '{\n  "stage": "IV",\n  "her2": "low",\n  "stage": "III"\n}\n'
    with pytest.raises(ProfileError) as info:
        parse_text(text, "p.json")
    assert info.value.problems == [
        "p.json: Profile field 'stage': given more than once, on lines 2 and 4; keep one"]


def test_json_files_are_read_as_json():
    with pytest.raises(ProfileError) as info:
        parse_text('{\n  "stage": "IV",\n  "her2": "low",\n}\n', "p.json")
    assert info.value.problems == [
        "p.json: not valid JSON at line 4, column 1: Expecting property name enclosed in double "
        "quotes (JSON allows no comma before a closing } or ])"]
    with pytest.raises(ProfileError, match=r"p.json: not valid JSON at line 1, column 1"):
        parse_text("stage: IV\n", "p.json")  # YAML in a .json file is not JSON


def test_cli_duplicate_and_empty_files(tmp_path):
    dup = tmp_path / "dup.yaml"
    dup.write_text("stage: IV\nstage: IV\n")
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    result = runner.invoke(app, ["validate", str(dup), str(empty)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{dup}: Profile field 'stage': given more than once, on lines 1 and 2; keep one",
        f"{empty}: Profile: the profile is empty; a profile is a set of fields like `stage: IV`"]


def test_explain_shows_how_each_form_was_read(tmp_path):
    path = tmp_path / "nurse.yaml"
    path.write_text("stage: 2B\ner: ER+\npr: PR-\nher2: 2+\nprovince: Québec\n")
    result = runner.invoke(app, ["explain", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = lines.index("Read as:")
    assert lines[start + 1:start + 6] == [
        "  stage: '2B' is read as II (sub-stage 2B is part of stage II)",
        "  er: 'ER+' is read as positive",
        "  pr: 'PR-' is read as negative",
        "  her2: '2+' is read as unknown (IHC 2+ is equivocal until an ISH test decides, so no "
        "medicine that depends on HER2 is shown; write '2+ ISH negative' or '2+ ISH positive' "
        "when the result is in) [check this]",
        "  province: 'Québec' is read as QC"]
    assert "HER2 unknown" in lines[0]
    checked = runner.invoke(app, ["validate", str(path)])
    assert checked.exit_code == 0
    assert f"{path}: note: her2: '2+' is read as unknown" in checked.stdout


def test_readme_shorthand_table_is_what_the_code_does():
    """Every row of the README's shorthand table: the form given is read as the value shown."""
    readme = (ROOT / "README.md").read_text()
    table = readme.split("<!-- shorthand -->")[1]
    rows = [r for r in table.splitlines() if r.startswith("| `")]
    assert len(rows) >= 15
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        field, value = cells[0].strip("`"), cells[2].strip("`")
        for given in re.findall(r"`([^`]+)`", cells[1]):
            data = {"stage": "IV"} if field in ("metastases", "prior_therapies") else {}
            data[field] = int(given) if given.isdigit() else given
            got = getattr(read(data), field)
            got = ", ".join(got) if isinstance(got, tuple) else got
            assert got == value, (field, given, got)
