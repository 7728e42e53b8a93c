"""Plans as data: what a grid of profiles gets, and why."""

from __future__ import annotations

import re

import pytest

from booklet.select import awaited_tests, select
from conftest import profile_from

BASE = {"stage": "IV", "type": "idc", "er": "positive", "pr": "positive", "her2": "positive"}
OVARIAN = {"goserelin", "leuprolide", "ovarian-ablation"}
HORMONAL = {"tamoxifen", "letrozole", "anastrozole", "exemestane", "fulvestrant"}
HER2 = {"trastuzumab", "pertuzumab", "trastuzumab-emtansine", "trastuzumab-deruxtecan",
        "lapatinib", "tucatinib", "neratinib"}


def plan(**changes):
    return select(profile_from({**BASE, **changes}), _lib())


def _lib():
    from booklet.content import cached_library

    return cached_library()


def drugs(p) -> dict:
    return {d.item.id: d for d in p.drugs}


def sections(p) -> set:
    return {s.item.id for s in p.walk()}


def test_after_menopause_no_ovarian_suppression_but_aromatase_inhibitors():
    d = drugs(plan(menopause="post"))
    assert not OVARIAN & set(d)
    assert HORMONAL <= set(d) and HER2 <= set(d)
    assert not d["letrozole"].conditions


def test_before_menopause_ovarian_suppression_is_certain():
    d = drugs(plan(menopause="pre"))
    assert OVARIAN <= set(d)
    assert all(not d[i].conditions for i in OVARIAN)


def test_unknown_menopause_shows_ovarian_suppression_conditionally():
    d = drugs(plan())
    assert OVARIAN <= set(d)
    assert all(d[i].conditions == (("menopause", ("pre", "peri")),) for i in OVARIAN)


def test_hr_negative_gets_no_hormone_therapy():
    d = drugs(plan(er="negative", pr="negative"))
    assert not (HORMONAL | OVARIAN) & set(d)
    assert HER2 <= set(d)
    assert "first-line-hr-pos-her2-pos" not in sections(plan(er="negative", pr="negative"))


def test_men_get_hormone_therapy_for_men_and_a_gnrh_agonist_only_with_an_aromatase_inhibitor():
    p = plan(sex="male")
    d = drugs(p)
    assert "ovarian-ablation" not in d
    if OVARIAN & set(d):
        assert {"anastrozole", "letrozole", "exemestane"} & set(d)
    assert "tamoxifen" in d
    assert "hormone-therapy-men" in sections(p)
    assert "hormone-before-menopause" not in sections(p)


def test_unknown_her2_gets_no_her2_drugs_and_a_question():
    p = plan(her2="unknown")
    assert not HER2 & set(drugs(p))
    assert "her2-unknown" in sections(p)
    assert "ask-her2-result" in {q.item.id for q in p.questions}


def test_her2_negative_gets_no_her2_drugs_and_no_her2_question():
    p = plan(her2="negative")
    # trastuzumab deruxtecan is only a compact entry, labelled "if your HER2 result is low"
    assert not (HER2 - {"trastuzumab-deruxtecan"}) & set(drugs(p))
    tdxd = drugs(p).get("trastuzumab-deruxtecan")
    assert tdxd is None or (not tdxd.full and any(c[0] == "her2" for c in awaited_tests(tdxd)))
    assert "her2-unknown" not in sections(p)


def test_known_sites_give_only_their_sections_and_drugs():
    p = plan(metastases=["bone"])
    s = sections(p)
    assert "bone-metastases" in s and "brain-metastases" not in s and "liver-metastases" not in s
    d = drugs(p)
    assert {"zoledronic-acid", "denosumab"} <= set(d) and not d["denosumab"].conditions
    p = plan(metastases=["liver"])
    assert not {"zoledronic-acid", "denosumab", "pamidronate", "clodronate"} & set(drugs(p))


def test_unknown_sites_are_all_conditional():
    p = plan()
    conditional = {s.item.id for s in p.walk() if s.conditions}
    assert {"bone-metastases", "brain-metastases", "liver-metastases", "lung-metastases"} <= conditional


def test_prior_therapies_move_the_emphasis():
    d = drugs(plan(prior_therapies=["trastuzumab", "pertuzumab", "docetaxel"]))
    assert d["trastuzumab"].had and d["pertuzumab"].had
    assert d["trastuzumab-deruxtecan"].next_up
    assert not drugs(plan())["trastuzumab-deruxtecan"].next_up


def test_every_inclusion_has_a_reason_and_ids_are_generic_names():
    data = plan().to_json()
    for entry in data["sections"] + list(data["drugs"].values()) + data["standards"] + data["questions"]:
        assert entry["why"]
    for drug_id in data["drugs"]:
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", drug_id)


@pytest.mark.parametrize("changes", [{}, {"menopause": "post", "metastases": ["bone"]},
                                     {"sex": "male"}, {"er": "negative", "pr": "negative"}])
def test_stage_iv_booklets_always_have_standards_palliative_care_and_when_to_call(changes):
    p = plan(**changes)
    assert {"palliative", "end-of-life", "monitoring", "when-to-call"} <= sections(p)
    assert {s.item.id for s in p.standards} >= {"first-consult-2-weeks"}


def test_glossary_and_sources_come_from_what_is_used():
    p = plan(menopause="post", metastases=["bone"])
    assert set(p.sources)  # every cited source is listed
    cited = {s for d in p.drugs if d.full for s in d.item.sources}
    cited |= {d.item.sources[0] for d in p.drugs}  # a compact entry cites its main source
    assert cited <= set(p.sources)
    shown = {s for sec in p.walk() for s in sec.item.sources} | cited
    shown |= {s for q in p.questions + p.glossary for s in q.item.sources}
    shown |= {s.item.source for s in p.standards} | {s for st in p.standards for s in st.item.sources}
    shown |= {s for d in p.drugs if d.full for f in d.funding for s in f.sources}
    shown |= {s for d in p.drugs if d.full for u in d.uses if u.use.canada for s in u.use.canada.sources}
    assert set(p.sources) == shown  # and nothing else


def test_after_alternatives_need_only_one():
    hr_neg = {"er": "positive", "her2": "negative", "menopause": "post"}
    d = drugs(plan(**hr_neg, prior_therapies=["letrozole"]))
    assert d["everolimus"].next_up
    assert not drugs(plan(**hr_neg))["everolimus"].next_up


def test_a_province_block_cites_its_own_source_only_where_it_is_shown(library):
    from booklet.profile import normalise
    """The Manitoba drug program paragraph, and its source, are in a Manitoba booklet; a
    British Columbia booklet has BC Cancer's paragraph and source instead."""
    from booklet.content import segments
    seg = segments("::: applies {province: [MB], sources: [manitoba-home-cancer-drug-program]}\n"
                   "Text.\n:::")
    assert seg[0].applies == {"province": ["MB"]}
    assert seg[0].sources == ("manitoba-home-cancer-drug-program",)

    def cited(province):
        p = normalise({"stage": "IV", "er": "positive", "her2": "negative", "menopause": "post",
                       "province": province}, library.drug_names)
        return select(p, library).sources
    mb, bc = cited("MB"), cited("BC")
    assert "manitoba-home-cancer-drug-program" in mb and "bccancer-drug-funding" not in mb
    assert "bccancer-drug-funding" in bc and "manitoba-home-cancer-drug-program" not in bc
