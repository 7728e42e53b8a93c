"""Profile loading: normalisation, every error kind, all errors at once."""

from __future__ import annotations

import pytest

from booklet.errors import ProfileError
from booklet.profile import Profile, normalise, parse_text

KNOWN = {"trastuzumab": ["Trastuzumab", "Herceptin"], "pertuzumab": ["Pertuzumab", "Perjeta"]}


def problems(data) -> list[str]:
    with pytest.raises(ProfileError) as info:
        normalise(data, KNOWN)
    return info.value.problems


def test_defaults_are_unknown_and_female():
    p = normalise({}, KNOWN)
    assert (p.stage, p.type, p.er, p.pr, p.hr, p.her2, p.menopause) == ("unknown",) * 7
    assert p.sex == "female" and p.metastases == () and p.prior_therapies == ()
    assert p.biomarkers == {"brca": "unknown", "pdl1": "unknown", "pik3ca": "unknown", "esr1": "unknown"}


@pytest.mark.parametrize("raw, stage", [(4, "IV"), ("4", "IV"), ("stage IV", "IV"), ("Stage iv", "IV"),
                                        ("IIIA", "III"), ("iiic", "III"), ("2B", "II"), (0, "0"),
                                        ("unknown", "unknown")])
def test_stage_forms(raw, stage):
    assert normalise({"stage": raw}, KNOWN).stage == stage


@pytest.mark.parametrize("er, pr, hr", [("positive", "negative", "positive"),
                                        ("negative", "positive", "positive"),
                                        ("negative", "negative", "negative"),
                                        ("negative", "unknown", "unknown"),
                                        ("unknown", "unknown", "unknown")])
def test_hr_is_derived_from_er_and_pr(er, pr, hr):
    assert normalise({"er": er, "pr": pr}, KNOWN).hr == hr


def test_hr_shorthand_when_er_pr_unknown():
    assert normalise({"hr": "positive"}, KNOWN).hr == "positive"


def test_hr_conflicting_with_er_pr_is_an_error():
    msgs = problems({"er": "positive", "hr": "negative"})
    assert any("'hr'" in m and "conflicts" in m for m in msgs)
    msgs = problems({"er": "negative", "pr": "negative", "hr": "positive"})
    assert any("'hr'" in m for m in msgs)


def test_every_problem_is_reported_at_once_with_field_value_and_allowed():
    msgs = problems({"stage": "V", "her2": "maybe", "sex": "x", "colour": "blue"})
    text = "\n".join(msgs)
    assert len(msgs) == 4
    assert "Profile field 'her2': 'maybe' is not one of positive, low, ultralow, negative, unknown" in text
    assert "'stage'" in text and "'V'" in text
    assert "'colour': unknown field" in text


def test_close_matches_are_suggested():
    assert "did you mean 'positive'?" in problems({"her2": "postive"})[0]
    assert "did you mean 'menopause'?" in problems({"menopuase": "post"})[0]
    assert "did you mean 'trastuzumab'?" in problems({"prior_therapies": ["trastuzumb"]})[0]


def test_prior_therapies_accept_brand_names():
    p = normalise({"stage": "IV", "prior_therapies": ["Herceptin", "pertuzumab"]}, KNOWN)
    assert p.prior_therapies == ("trastuzumab", "pertuzumab")


def test_unknown_metastases_for_stage_iv_by_default():
    assert normalise({"stage": "IV"}, KNOWN).metastases == ("unknown",)
    assert normalise({"stage": "IV", "metastases": ["unknown"]}, KNOWN).metastases == ("unknown",)
    assert normalise({"stage": "IV", "metastases": "Lymph nodes"}, KNOWN).metastases == ("lymph-nodes",)


@pytest.mark.parametrize("data, field", [
    ({"stage": "II", "metastases": ["bone"]}, "metastases"),
    ({"stage": "IV", "type": "dcis"}, "stage"),
    ({"stage": 0, "type": "idc"}, "type"),
    ({"sex": "male", "menopause": "post"}, "menopause"),
    ({"stage": "I", "oligometastatic": True}, "oligometastatic"),
])
def test_contradictions_are_rejected(data, field):
    assert any(f"'{field}'" in m and "conflicts" in m or "male" in m for m in problems(data))


def test_menopause_unknown_is_valid_for_a_man():
    p = normalise({"sex": "male", "menopause": "unknown"}, KNOWN)
    assert p.menopause == "unknown"


def test_empty_values_mean_not_given():
    p = normalise({"stage": "", "her2": None, "biomarkers": {"brca": ""}}, KNOWN)
    assert p.stage == "unknown" and p.her2 == "unknown" and p.biomarkers["brca"] == "unknown"


def test_free_text_rejects_control_characters_and_huge_values():
    assert "control" in problems({"name": "Sam\x00"})[0]
    assert "invisible" in problems({"name": "Sam\u202e"})[0]
    assert "too long" in problems({"care_team": {"nurse": "x" * 10_000}})[0]


def test_province_on_stays_ontario_in_yaml():
    data = parse_text("province: ON\nstage: IV\noligometastatic: no\n", "t.yaml")
    p = normalise(data, KNOWN)
    assert p.province == "ON" and p.oligometastatic == "false"


def test_json_is_accepted():
    assert normalise(parse_text('{"stage": "IV", "her2": "positive"}', "p.json"), KNOWN).her2 == "positive"


@pytest.mark.parametrize("text", ["a: &a [*a]", "a: &x 1\nb: *x", "[[[[[[[[[[[[[[[[[["])
def test_aliases_and_broken_yaml_are_input_errors(text):
    with pytest.raises(ProfileError):
        parse_text(text, "bad.yaml")


def test_deep_nesting_is_an_input_error_not_a_crash():
    with pytest.raises(ProfileError):
        data = parse_text("[" * 5000 + "]" * 5000, "deep.yaml")
        normalise(data, KNOWN)


@pytest.mark.parametrize("text, message", [
    ("", "the profile is empty; a profile is a set of fields like `stage: IV`"),
    ("# to fill in\n", "the profile is empty; a profile is a set of fields like `stage: IV`"),
    ("- stage\n- IV\n", "a profile is a set of fields like `stage: IV`, not a list"),
    ("- stage: IV\n", "not a list (remove the '-' before each field)"),
    ("IV\n", "a profile is a set of fields like `stage: IV`, not a single value"),
    ("stage:IV\n", "not a single value (is a space missing after a colon?)"),
])
def test_not_a_profile_says_what_a_profile_is(text, message):
    with pytest.raises(ProfileError) as info:
        normalise(parse_text(text, "p.yaml"), KNOWN)
    assert message in info.value.problems[0]
    assert "NoneType" not in info.value.problems[0] and "got" not in info.value.problems[0]


def test_name_is_not_in_the_default_dict():
    p = normalise({"name": "Sam"}, KNOWN)
    assert "name" not in p.to_dict() and p.to_dict(with_name=True)["name"] == "Sam"
    assert isinstance(p, Profile)
