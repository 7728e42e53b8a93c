"""Every sentence fits the person: properties over the whole profile space, on the text
each plan shows (booklet.fit reads the words, never the rules that chose them)."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from booklet.errors import ProfileError
from booklet.fit import core_space, extra_space, problems
from booklet.profile import BIOMARKERS, SITES, normalise
from booklet.select import select


def plans(library, space):
    for data in space:
        try:
            yield data, select(normalise(data, library.drug_names), library)
        except ProfileError:
            continue


def test_every_sentence_fits_over_the_core_space(library):
    """stage x type x ER x PR x HER2 x menopause x sex x phase, every combination."""
    found: dict[str, str] = {}
    count = 0
    for data, plan in plans(library, core_space()):
        count += 1
        for p in problems(plan):
            found.setdefault(p, str(data))
    assert count > 20000
    assert not found, "\n".join(f"{p}\n    e.g. {d}" for p, d in list(found.items())[:25])


def test_every_sentence_fits_with_biomarkers_sites_and_current_therapies(library):
    found = {p: str(d) for d, plan in plans(library, extra_space(library)) for p in problems(plan)}
    assert not found, "\n".join(f"{p}\n    e.g. {d}" for p, d in list(found.items())[:25])


@given(st.fixed_dictionaries({
    "stage": st.sampled_from(["0", "I", "II", "III", "IV"]),
    "type": st.sampled_from(["idc", "ilc", "ibc", "rare", "dcis"]),
    "er": st.sampled_from(["positive", "negative"]),
    "pr": st.sampled_from(["positive", "negative", "unknown"]),
    "her2": st.sampled_from(["positive", "low", "ultralow", "negative", "unknown"]),
    "sex": st.sampled_from(["female", "male"]),
    "menopause": st.sampled_from(["pre", "peri", "post", "unknown"]),
    "phase": st.sampled_from(["diagnosis", "before-surgery", "after-surgery", "follow-up", "unknown"]),
    "metastases": st.lists(st.sampled_from(SITES[:-1]), max_size=3, unique=True),
    "biomarkers": st.fixed_dictionaries({b: st.sampled_from(["positive", "negative", "unknown"])
                                         for b in BIOMARKERS}),
    "prior_therapies": st.lists(st.sampled_from(["letrozole", "palbociclib", "tamoxifen",
                                                 "trastuzumab", "pertuzumab", "docetaxel",
                                                 "capecitabine", "fulvestrant"]),
                                max_size=3, unique=True),
}))
def test_every_sentence_fits_generated_profiles(library, data):
    if data["stage"] != "IV":
        data = {**data, "metastases": []}
    if data["sex"] == "male":
        data = {**data, "menopause": "unknown"}
    try:
        plan = select(normalise(data, library.drug_names), library)
    except ProfileError:
        return
    assert not problems(plan)


@pytest.mark.render
@pytest.mark.parametrize("example, absent", [
    ("stage-iv-male-hr-pos", ["period", "vagina", "ovar", "menopaus", "uterus"]),
    ("stage-ii-after-surgery-anastrozole", ["stage iv", "metastatic", "first line", "periods",
                                            "birth control"]),
])
def test_rendered_booklets_read_as_theirs(pdftotext_available, example, absent):
    """The same properties on the extracted text of rendered booklets (a sample)."""
    from conftest import example_data, render_profile

    text = render_profile(example_data(example)).raw_text().lower()
    text = text.rsplit("words to know", 1)[0]  # the body; glossary and sources define words
    for word in absent:
        assert word not in text, f"'{word}' in {example}"
