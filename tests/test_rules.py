"""`applies` rules: strict fields, expandable unknowns, men and menopause."""

from __future__ import annotations

from booklet.profile import normalise
from booklet.rules import describe, label, match


def prof(**data):
    return normalise(data, {"trastuzumab": ["Trastuzumab"]})


def test_all_keys_must_match():
    p = prof(stage="IV", er="positive", her2="positive")
    assert match({"stage": ["IV"], "her2": ["positive"]}, p).certain
    assert not match({"stage": ["IV"], "her2": ["negative"]}, p).ok


def test_unknown_strict_field_matches_only_an_explicit_unknown():
    p = prof(stage="IV")
    assert not match({"her2": ["positive"]}, p).ok
    assert match({"her2": ["unknown"]}, p).certain
    assert not match({"brca": ["positive"]}, p).ok


def test_unknown_menopause_is_conditional():
    r = match({"menopause": ["pre", "peri"]}, prof(stage="IV"))
    assert r.ok and r.conditions == (("menopause", ("pre", "peri")),)
    phrases = {"menopause": {"pre,peri": "you have not reached menopause"}}
    assert label(r.conditions, phrases) == "If you have not reached menopause"


def test_menopause_never_matches_a_man():
    assert not match({"menopause": ["pre", "peri", "post", "unknown"]}, prof(sex="male")).ok


def test_sites():
    assert match({"metastases": ["bone"]}, prof(stage="IV", metastases=["bone", "liver"])).certain
    assert not match({"metastases": ["brain"]}, prof(stage="IV", metastases=["bone"])).ok
    r = match({"metastases": ["brain"]}, prof(stage="IV"))
    assert r.ok and r.conditions


def test_prior_and_description():
    p = prof(stage="IV", prior_therapies=["trastuzumab"])
    rule = {"stage": ["IV"], "prior": ["trastuzumab"]}
    r = match(rule, p)
    assert r.certain
    assert describe(rule, p, r) == "stage is IV; has had trastuzumab"
    assert describe({}, p, r) == "always included"


def test_prior_setting_and_not_prior_setting():
    from booklet.profile import normalise
    from booklet.rules import match
    from booklet.content import cached_library
    lib = cached_library()
    neo = normalise({"stage": "II", "er": "positive", "her2": "positive", "phase": "after-surgery",
                     "prior_therapies": [{"drug": "docetaxel", "setting": "before-surgery"}]},
                    lib.drug_names)
    plain = normalise({"stage": "II", "er": "positive", "her2": "positive",
                       "phase": "after-surgery"}, lib.drug_names)
    stage4 = normalise({"stage": "IV", "er": "positive", "her2": "negative",
                        "prior_therapies": ["letrozole"]}, lib.drug_names)
    assert match({"prior_setting": ["before-surgery"]}, neo).ok
    assert not match({"not_prior_setting": ["before-surgery"]}, neo).ok
    assert match({"not_prior_setting": ["before-surgery"]}, plain).ok
    assert not match({"prior_setting": ["before-surgery"]}, plain).ok
    assert match({"prior_setting": ["metastatic"]}, stage4).ok


def test_province_rule_keeps_a_provinces_program_with_it():
    """Ontario's drug plan lines are for people in Ontario, or when the province is unknown."""
    rule = {"province": ["ON", "unknown"]}
    assert match(rule, prof(stage="IV", province="Ontario")).certain
    assert match(rule, prof(stage="IV")).certain
    assert not match(rule, prof(stage="IV", province="NS")).ok
