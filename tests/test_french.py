"""French: the same plan in both languages over the whole plan-level profile space, a
bilingual content check that is clean, and French booklets that read as French and pass
PDF/UA-1."""

from __future__ import annotations

import itertools
import re
from dataclasses import replace

import pytest

from booklet.content import cached_library, check_languages
from booklet.errors import ProfileError
from booklet.fit import core_space, extra_space
from booklet.profile import normalise
from booklet.select import select
from conftest import example_data, render_profile


def ids(plan) -> dict[str, list[str]]:
    j = plan.to_json()
    return {"sections": [(s["id"], s["mode"]) for s in j["sections"]],
            "drugs": sorted((k, v["status"], v["card"]) for k, v in j["drugs"].items()),
            "standards": [s["id"] for s in j["standards"]],
            "questions": [q["id"] for q in j["questions"]],
            "regimens": [r["id"] for r in j["regimens"]]}


def test_the_plan_is_the_same_in_both_languages(library):
    """Sections (and their modes), drugs (status, card), standards, questions, regimens."""
    fr = cached_library("fr")
    checked = 0
    for data in itertools.chain(core_space(), extra_space(library)):
        try:
            profile = normalise(data, library.drug_names)
            a = select(profile, library)
        except ProfileError:
            continue
        b = select(replace(profile, language="fr"), fr)
        assert ids(a) == ids(b), data
        checked += 1
    assert checked > 20000


def test_content_is_the_same_in_both_languages():
    """Every item in both languages, with the same rules, sources and body blocks, and no
    French item older than its English counterpart."""
    problems = check_languages()
    assert not problems, "\n".join(problems[:30])


def test_language_fr_or_fr_ca_is_read():
    lib = cached_library()
    for value in ("fr", "FR", "fr-CA", "français"):
        assert normalise({"stage": "II", "language": value}, lib.drug_names).language == "fr"


FRENCH = ["stage-ii-after-surgery-anastrozole", "stage-iv-hr-pos-her2-neg-letrozole-ribociclib"]


@pytest.mark.render
@pytest.mark.parametrize("name", FRENCH)
def test_french_booklet_reads_as_french_and_passes_pdf_ua1(name, pdftotext_available):
    import io

    import page
    import pikepdf

    booklet = render_profile({**example_data(name), "language": "fr"})
    with pikepdf.open(io.BytesIO(booklet.pdf)) as pdf:
        assert str(pdf.Root.Lang) == "fr-CA"
        assert "plan de traitement" in str(pdf.docinfo.get("/Title", "")).lower()
    html = booklet.html
    assert '<html lang="fr-CA"' in html
    # the text a reader sees: the style sheet (its "@page :first") is not text
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<style\b.*?</style>", " ", html, flags=re.S))
    for french in ("Votre traitement", "Page", "décembre 2026"):
        assert french in text or french in html
    # French spacing: a no-break space before the colon, never a plain one
    assert " :" not in text.replace("\u00a0:", "")
    for english in ("Your treatment now", "Words to know", "When to get help", "Printed on"):
        assert english not in text, english
    report = page.validate_pdf_bytes(booklet.pdf, profile="ua1")
    assert report.is_compliant, report


def test_french_spacing_after_bold_and_around_character_references():
    from booklet.render import french_spacing

    html = "<style>@page :first {}</style><p><strong>Canada&#39;s Drug Agency</strong>: 3 pages ; oui</p>"
    out = french_spacing(html)
    assert "@page :first" in out  # styles untouched
    assert "&#39;s" in out  # a character reference keeps its semicolon
    assert "</strong>\u00a0: 3" in out  # no-break space before a colon after bold text
    assert "pages\u00a0; oui" in out


def test_a_french_profile_gets_its_errors_in_french():
    from booklet.content import cached_library
    from booklet.errors import ProfileError
    from booklet.profile import normalise
    with pytest.raises(ProfileError) as exc:
        normalise({"language": "fr", "stage": "V", "er": "positive", "her2": "negative"},
                  cached_library().drug_names)
    text = "\n".join(exc.value.problems)
    assert "Champ du profil « stage »" in text and "valeurs permises" in text
    assert "'V'" in text and "IV" in text  # the value and what is allowed, as written
    with pytest.raises(ProfileError) as exc:
        normalise({"stage": "V", "er": "positive", "her2": "negative"}, cached_library().drug_names)
    assert "Profile field 'stage'" in "\n".join(exc.value.problems)
