"""Hostile and broken input: never a traceback, never a partial file, always a message.

The default suite runs about 500 generated cases; set BOOKLET_FUZZ_EXAMPLES (e.g. 10000)
for the long run (scripts/fuzz does this).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from typer.testing import CliRunner

from booklet.batch import InputError, read_rows
from booklet.cli import app
from booklet.errors import ProfileError
from booklet.profile import ALL_KEYS, normalise, parse_text

N = int(os.environ.get("BOOKLET_FUZZ_EXAMPLES", "0")) or None
fuzz = settings(max_examples=N or 150, suppress_health_check=[HealthCheck.too_slow])

KEYS = st.one_of(st.sampled_from(ALL_KEYS + ("biomarkers.brca", "colour")), st.text(max_size=12))
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                    st.text(max_size=30), st.sampled_from(["IV", "positive", "low", "pre", "bone", "ON"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=12)
PROFILES = st.dictionaries(KEYS, VALUES, max_size=10)


@fuzz
@given(PROFILES)
def test_normalise_accepts_or_explains(data):
    try:
        normalise(data, {"trastuzumab": ["Herceptin"]})
    except ProfileError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)


@fuzz
@given(st.text(max_size=400))
def test_any_text_parses_or_gives_a_profile_error(text):
    try:
        data = parse_text(text, "fuzz.yaml")
        normalise(data, {})
    except ProfileError:
        pass


@fuzz
@given(st.lists(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
                         min_size=1, max_size=6), min_size=1, max_size=6))
def test_csv_rows_never_crash(tmp_path_factory, rows):
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["id", "stage", "her2", "metastases", "biomarkers.brca", "care_team.phone"])
    writer.writerows(rows)
    path = tmp_path_factory.mktemp("csv") / "rows.csv"
    path.write_text(buf.getvalue())
    try:
        parsed = read_rows(path)
    except InputError:
        return
    for row in parsed:
        if row.data is None:
            assert row.problem
            continue
        try:
            normalise(row.data, {})
        except ProfileError as exc:
            assert exc.problems


runner = CliRunner()
HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=file:///etc/passwd>",
    "{{ 7*7 }} {% raw %}",
    "Sam\u202eevil",            # right-to-left override
    "Sam\u200bwidth",           # zero-width space
    "Sam 😀",                    # emoji
    "Sam\x00",                   # NUL
    "x" * 10_000_000,            # a 10 MB value
    "O'Brien & \"Ng\"",
]


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_free_text_is_escaped_or_rejected(tmp_path, value):
    import json

    out = tmp_path / "b.html"
    data = {"stage": "IV", "er": "positive", "her2": "positive", "name": value,
            "care_team": {"clinic": value}}
    result = runner.invoke(app, ["render", "-", "--format", "html", "-o", str(out)],
                           input=json.dumps(data))
    assert "Traceback" not in result.output
    if result.exit_code == 0:
        from markupsafe import escape

        html = out.read_text()
        assert "<script>" not in html and "<img src=file" not in html
        assert str(escape(" ".join(value.split()))) in html  # printed as text, not run
    else:
        assert result.exit_code == 2 and not out.exists()
        assert "name" in result.stderr or "larger than" in result.stderr


def test_yaml_bomb_and_recursion_are_refused(tmp_path):
    bomb = "a: &a [\"x\",\"x\"]\nb: &b [*a,*a]\nc: &c [*b,*b]\nd: [*c,*c,*c]\n"
    for text in (bomb, "a: &a [*a]\n", "[" * 100_000):
        path = tmp_path / "p.yaml"
        path.write_text(text)
        result = runner.invoke(app, ["validate", str(path)])
        assert result.exit_code == 2 and "Traceback" not in result.output


def test_huge_file_is_refused(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("stage: IV\n" + "#" * 2_000_000)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2 and "larger than" in result.stderr
