"""Current therapies, regimens, phase and line: the profile contract and its safety."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from booklet.content import Catalog
from booklet.errors import ProfileError
from booklet.profile import normalise
from booklet.select import select


def catalog(library):
    return library.drug_names


def fake_catalog():
    cat = Catalog({"doxorubicin": ["Doxorubicin"], "cyclophosphamide": ["Cyclophosphamide"],
                   "paclitaxel": ["Paclitaxel", "Taxol"], "docetaxel": ["Docetaxel"],
                   "letrozole": ["Letrozole", "Femara"], "ribociclib": ["Ribociclib", "Kisqali"]})
    cat.regimens = {
        "ac-paclitaxel-weekly": {"title": "AC then weekly paclitaxel",
                                 "names": ["AC then weekly paclitaxel", "AC-T", "AC-Pw"],
                                 "drugs": ["doxorubicin", "cyclophosphamide", "paclitaxel"]},
        "ac-docetaxel": {"title": "AC then docetaxel", "names": ["AC-T", "AC-D"],
                         "drugs": ["doxorubicin", "cyclophosphamide", "docetaxel"]},
        "letrozole-ribociclib": {"title": "Letrozole and ribociclib",
                                 "names": ["letrozole + ribociclib"],
                                 "drugs": ["letrozole", "ribociclib"]},
    }
    return cat


def problems(data, known):
    with pytest.raises(ProfileError) as exc:
        normalise(data, known)
    return "\n".join(exc.value.problems)


def test_current_accepts_ids_brands_and_regimen_codes():
    p = normalise({"stage": "IV", "current_therapies": ["Femara", "Kisqali"]}, fake_catalog())
    assert p.current_therapies == ("letrozole", "ribociclib")
    p = normalise({"stage": "II", "current_therapies": ["AC-Pw"]}, fake_catalog())
    assert p.regimens == ("ac-paclitaxel-weekly",)
    assert p.current_therapies == ("doxorubicin", "cyclophosphamide", "paclitaxel")
    p = normalise({"stage": "IV", "current_therapies": ["Letrozole + Ribociclib"]}, fake_catalog())
    assert p.regimens == ("letrozole-ribociclib",)


def test_an_ambiguous_code_is_an_error_that_lists_the_choices():
    msg = problems({"stage": "II", "current_therapies": ["AC-T"]}, fake_catalog())
    assert "Profile field 'current_therapies': 'AC-T' can mean more than one regimen" in msg
    assert "ac-paclitaxel-weekly" in msg and "ac-docetaxel" in msg


def test_unknown_current_drug_names_the_field_and_suggests():
    msg = problems({"current_therapies": ["letrozol"]}, fake_catalog())
    assert "'current_therapies': 'letrozol' is not a known drug or regimen" in msg
    assert "did you mean 'letrozole'" in msg


def test_reason_form_and_its_errors():
    p = normalise({"stage": "IV", "current_therapies": [{"drug": "Taxol", "reason": "trial"}]},
                  fake_catalog())
    assert p.chosen == {"paclitaxel": "trial"}
    msg = problems({"current_therapies": [{"drug": "paclitaxel", "reason": "because"}]},
                   fake_catalog())
    assert "current_therapies[1].reason" in msg and "trial, off-label" in msg


def test_phase_diagnosis_with_current_therapies_is_a_contradiction():
    msg = problems({"stage": "II", "phase": "diagnosis", "current_therapies": ["letrozole"]},
                   fake_catalog())
    assert "Profile field 'phase': 'diagnosis' conflicts with current_therapies" in msg


def test_prior_settings_and_lines():
    p = normalise({"stage": "IV", "prior_therapies": [
        {"drug": "letrozole", "setting": "after-surgery"}, "paclitaxel"]}, fake_catalog())
    assert p.prior_settings == {"letrozole": "after-surgery"}
    assert p.metastatic_prior == ("paclitaxel",) and p.line == "later"
    p = normalise({"stage": "IV", "prior_therapies": [
        {"drug": "letrozole", "setting": "adjuvant"}]}, fake_catalog())
    assert p.line == "first"  # treatment after surgery is not a line of stage IV treatment
    msg = problems({"stage": "II", "prior_therapies": [
        {"drug": "letrozole", "setting": "metastatic"}]}, fake_catalog())
    assert "conflicts with stage: II" in msg


def test_stage_iv_ignores_phase_with_a_note(library):
    p = normalise({"stage": "IV", "er": "positive", "her2": "negative", "phase": "after-surgery"},
                  library.drug_names)
    plan = select(p, library)
    assert any("ignored for stage IV" in n for n in plan.notes)


def test_a_current_drug_the_rules_exclude_is_an_input_error(library):
    p = normalise({"stage": "IV", "er": "positive", "her2": "negative",
                   "current_therapies": ["trastuzumab"]}, library.drug_names)
    with pytest.raises(ProfileError) as exc:
        select(p, library)
    msg = "\n".join(exc.value.problems)
    assert "Profile field 'current_therapies': 'trastuzumab' does not fit this profile" in msg
    assert "her2 positive" in msg and "reason: off-label" in msg


def test_a_parp_inhibitor_needs_a_positive_brca_result(library):
    p = normalise({"stage": "IV", "er": "negative", "pr": "negative", "her2": "negative",
                   "current_therapies": ["olaparib"]}, library.drug_names)
    with pytest.raises(ProfileError, match="olaparib"):
        select(p, library)


def test_the_reason_form_shows_the_card_with_the_team_choice(library):
    p = normalise({"stage": "IV", "er": "positive", "her2": "negative",
                   "current_therapies": [{"drug": "trastuzumab", "reason": "trial"}]},
                  library.drug_names)
    plan = select(p, library)
    d = {x.item.id: x for x in plan.drugs}["trastuzumab"]
    assert d.now and d.chosen == "trial" and d.full


def test_explain_json_marks_now_had_later_by_id(library):
    p = normalise({"stage": "IV", "er": "positive", "her2": "negative", "menopause": "post",
                   "current_therapies": ["letrozole", "ribociclib"],
                   "prior_therapies": [{"drug": "tamoxifen", "setting": "after-surgery"},
                                       "letrozole"]}, library.drug_names)
    drugs = select(p, library).to_json()["drugs"]
    assert drugs["letrozole"]["status"] == "now" and drugs["letrozole"]["had"]
    assert drugs["ribociclib"]["status"] == "now" and drugs["ribociclib"]["card"] == "full"
    assert drugs["tamoxifen"]["status"] == "had" and drugs["tamoxifen"]["card"] == "compact"
    assert drugs["fulvestrant"]["status"] == "later"


def test_with_current_therapies_other_medicines_are_compact(library):
    p = normalise({"stage": "II", "er": "positive", "her2": "negative", "menopause": "post",
                   "phase": "after-surgery", "current_therapies": ["anastrozole"]},
                  library.drug_names)
    plan = select(p, library)
    assert [d.item.id for d in plan.drugs if d.full or d.now] == ["anastrozole"]
    plan = select(p, library, all_medicines=True)
    assert all(d.full for d in plan.drugs)


DRUG_IDS = st.sampled_from(sorted(__import__("booklet.content", fromlist=["x"])
                                  .cached_library().drugs))
PROFILES = st.fixed_dictionaries({
    "stage": st.sampled_from(["0", "I", "II", "III", "IV"]),
    "er": st.sampled_from(["positive", "negative", "unknown"]),
    "pr": st.sampled_from(["positive", "negative", "unknown"]),
    "her2": st.sampled_from(["positive", "low", "ultralow", "negative", "unknown"]),
    "sex": st.sampled_from(["female", "male"]),
    "menopause": st.sampled_from(["pre", "post", "unknown"]),
    "biomarkers": st.fixed_dictionaries({"brca": st.sampled_from(["positive", "negative", "unknown"]),
                                         "pik3ca": st.sampled_from(["positive", "negative", "unknown"])}),
    "current_therapies": st.lists(DRUG_IDS, min_size=1, max_size=3, unique=True),
    "phase": st.sampled_from(["before-surgery", "after-surgery", "follow-up", "unknown"]),
})


@given(PROFILES, st.booleans())
def test_no_current_drug_the_rules_exclude_is_ever_planned(library, data, with_reason):
    """Hypothesis over current therapies x profile: a current drug reaches the booklet only
    when one of its own rules fits the profile, or when the team's reason is given."""
    from booklet.rules import match

    if data["sex"] == "male":
        data = {**data, "menopause": "unknown"}
    if with_reason:
        data = {**data, "current_therapies": [{"drug": d, "reason": "off-label"}
                                              for d in data["current_therapies"]]}
    try:
        profile = normalise(data, library.drug_names)
        plan = select(profile, library)
    except ProfileError as exc:
        assert not with_reason or "current_therapies" not in "\n".join(exc.problems)
        assert all("Profile field" in p for p in exc.problems)
        return
    for d in plan.current:
        fits = any(match(u.applies, profile).ok for u in d.item.uses)
        assert fits or d.chosen, f"{d.item.id} planned as current without a rule or a reason"
        if not fits:
            assert d.chosen == "off-label"


def _context(library, data):
    from booklet.context import Options, build_context
    p = normalise(data, library.drug_names)
    return build_context(select(p, library), Options())


def test_a_current_medicine_is_given_with_its_current_partners_only(library):
    ctx = _context(library, {"stage": "IV", "er": "positive", "her2": "negative",
                             "menopause": "post", "current_therapies": ["letrozole + ribociclib"]})
    ribo = next(d for d in ctx["current"] if d["name"] == "Ribociclib")
    lines = [u["with"] for u in ribo["uses"] if u["with"]]
    assert lines and all("Letrozole" in w and "Anastrozole" not in w for w in lines)


def test_a_medicine_waiting_for_a_test_is_a_labelled_compact_entry(library):
    """PIK3CA not tested: capivasertib (approved in Canada) is listed with the test it waits
    for; inavolisib (not approved in Canada, and waiting for the same test) is left out."""
    data = {"stage": "IV", "er": "positive", "her2": "negative", "menopause": "post",
            "prior_therapies": ["letrozole", "ribociclib"]}
    p = normalise(data, library.drug_names)
    drugs = {d.item.id: d for d in select(p, library).drugs}
    assert "inavolisib" not in drugs
    assert "capivasertib" in drugs and not drugs["capivasertib"].full
    ctx = _context(library, data)
    entries = {d["name"]: d for g in ctx["compact"] for d in g["drugs"]}
    assert entries["Capivasertib"]["waits"]
    p = normalise({**data, "biomarkers": {"pik3ca": "positive"}}, library.drug_names)
    assert "capivasertib" in {d.item.id for d in select(p, library).drugs}


def test_a_use_not_approved_in_canada_never_labels_first_or_next(library):
    """Sacituzumab + pembrolizumab first line (US only) must not make sacituzumab a 'first
    treatment' in a Canadian booklet; T-DXd after surgery (US only) is never 'what comes next'."""
    p = normalise({"stage": "IV", "er": "negative", "pr": "negative", "her2": "negative",
                   "biomarkers": {"pdl1": "positive", "brca": "negative"}}, library.drug_names)
    drugs = {d.item.id: d for d in select(p, library).drugs}
    assert drugs["sacituzumab-govitecan"].line > 1
    p = normalise({"stage": "II", "er": "positive", "her2": "positive", "menopause": "post",
                   "phase": "after-surgery", "current_therapies": ["trastuzumab emtansine"],
                   "prior_therapies": [{"drug": "trastuzumab", "setting": "before-surgery"}]},
                  library.drug_names)
    drugs = {d.item.id: d for d in select(p, library).drugs}
    assert "trastuzumab-deruxtecan" not in drugs or not drugs["trastuzumab-deruxtecan"].next_up


def test_at_a_glance_gives_the_start_date_before_the_first_dose(library):
    import datetime as dt
    from booklet.context import Options, build_context
    p = normalise({"stage": "IV", "er": "positive", "her2": "negative", "menopause": "post",
                   "current_therapies": ["letrozole + ribociclib"], "start_date": "2026-12-07"},
                  library.drug_names)
    plan = select(p, library)
    before = build_context(plan, Options(date=dt.date(2026, 12, 5)))["glance"]
    after = build_context(plan, Options(date=dt.date(2026, 12, 9)))["glance"]
    assert before["here_label"] == "your treatment starts on 7 December 2026" and after["here_label"] == "you are here"


def test_keynote_522_cards_follow_its_order(library):
    """Carboplatin, paclitaxel and pembrolizumab come first, then AC: the cards say so, not
    the usual 'a taxane comes after AC'."""
    ctx = _context(library, {"stage": "III", "er": "negative", "pr": "negative",
                             "her2": "negative", "menopause": "pre", "phase": "before-surgery",
                             "current_therapies": ["carboplatin-paclitaxel-pembrolizumab-then-ac"]})
    cards = {d["name"]: " ".join(u["text"] for u in d["uses"]) for d in ctx["current"]}
    assert "comes after paclitaxel and carboplatin" in " ".join(cards["Doxorubicin"].split())
    assert "usually comes next" not in cards["Doxorubicin"]
    assert "may follow doxorubicin" not in cards["Paclitaxel"]
    assert "carboplatin" in cards["Paclitaxel"]


def test_stage_iv_what_comes_next_counts_the_treatment_now(library):
    """On trastuzumab deruxtecan after THP: neratinib (after two HER2 regimens) may come next;
    tucatinib, whose Canadian approval needs trastuzumab emtansine first, does not."""
    p = normalise({"stage": "IV", "er": "negative", "pr": "negative", "her2": "positive",
                   "menopause": "post", "prior_therapies": ["docetaxel", "trastuzumab", "pertuzumab"],
                   "current_therapies": ["trastuzumab-deruxtecan"]}, library.drug_names)
    drugs = {d.item.id: d for d in select(p, library).drugs}
    assert drugs["neratinib"].next_up and drugs["trastuzumab-emtansine"].next_up
    assert not drugs["tucatinib"].next_up
    p = normalise({"stage": "IV", "er": "negative", "pr": "negative", "her2": "positive",
                   "menopause": "post", "current_therapies": ["docetaxel-trastuzumab-pertuzumab"]},
                  library.drug_names)
    drugs = {d.item.id: d for d in select(p, library).drugs}
    assert not drugs["neratinib"].next_up  # one HER2 regimen is not two


def test_medicines_had_are_listed_apart_and_say_only_what_they_are(library):
    """After letrozole and palbociclib, they are not 'medicines that may be offered': they
    have their own list, and their entries say what they are, not when they are used.
    Goserelin, had too, stays with what may come: it goes on with each hormone therapy."""
    ctx = _context(library, {"stage": "IV", "er": "positive", "pr": "positive", "her2": "low",
                             "menopause": "pre", "metastases": ["bone", "liver"],
                             "prior_therapies": ["letrozole", "palbociclib", "goserelin"]})
    later = {d["name"] for g in ctx["compact"] for d in g["drugs"]}
    had = {d["name"]: d for d in ctx["had"]}
    assert {"Letrozole", "Palbociclib"} <= set(had)
    assert not later & set(had)
    # ovarian suppression is not over: it goes on with the next hormone therapy
    assert "Goserelin" in later and "Goserelin" not in had
    for entry in had.values():
        assert not entry["status"]
        assert "first treatment" not in entry["short"] and "may be" not in entry["short"]


def test_alternatives_to_the_chemotherapy_given_now_are_left_out(library):
    """On the KEYNOTE-522 regimen before surgery: no docetaxel or fluorouracil as 'other
    medicines'; capecitabine for cancer left at surgery (what may follow) stays, and so does
    epirubicin, which the pembrolizumab card names (EC may replace AC)."""
    p = normalise({"stage": "III", "er": "negative", "pr": "negative", "her2": "negative",
                   "menopause": "pre", "phase": "before-surgery",
                   "current_therapies": ["carboplatin-paclitaxel-pembrolizumab-then-ac"]},
                  library.drug_names)
    plan = select(p, library)
    ids = {d.item.id for d in plan.drugs}
    assert not ids & {"docetaxel", "fluorouracil"}
    assert {"capecitabine", "epirubicin"} <= ids
    assert any("docetaxel left out" in n for n in plan.notes)


def test_stage_iv_fever_rule_follows_the_medicines_given_now(library):
    """Fulvestrant and capivasertib do not lower white cells: the stage IV 'when to get help'
    page leaves out the fever rule; with chemotherapy now, it has it."""
    def when_to_call(current):
        p = normalise({"stage": "IV", "er": "positive", "her2": "negative", "menopause": "post",
                       "metastases": ["lung"], "biomarkers": {"pik3ca": "positive"},
                       "current_therapies": current}, library.drug_names)
        sec = next(s for s in select(p, library).walk() if s.item.id == "when-to-call")
        return " ".join(t.text if not t.ref else library.snippets[t.ref].text for t in sec.body)
    assert "38°C" not in when_to_call(["fulvestrant", "capivasertib"])
    assert "38°C" in when_to_call(["capecitabine"])
    assert "calcium" not in when_to_call(["capecitabine"])  # no cancer in the bones


def test_cancer_left_at_surgery_question_only_after_medicines_before_surgery(library):
    def ids(data):
        p = normalise({"stage": "III", "er": "positive", "pr": "positive", "her2": "negative",
                       "menopause": "post", "phase": "after-surgery", **data}, library.drug_names)
        return {q.item.id for s in select(p, library).walk() for q in s.questions + s.more_questions}
    after = [{"drug": d, "setting": "after-surgery"} for d in ("doxorubicin", "cyclophosphamide")]
    before = [{"drug": d, "setting": "before-surgery"} for d in ("doxorubicin", "cyclophosphamide")]
    assert "ask-early-meds-residual" not in ids({"prior_therapies": after})
    assert "ask-early-meds-residual" in ids({"prior_therapies": before})


def test_a_use_not_approved_in_canada_is_left_out_beside_the_treatment_now(library):
    """On letrozole and ribociclib, camizestrant (a first-line switch not approved in Canada)
    is not offered as another choice. On T-DM1 after surgery, the card itself says where
    T-DXd stands in Canada, so T-DXd keeps its short entry (it is named)."""
    on = select(normalise({"stage": "IV", "er": "positive", "her2": "negative",
                           "menopause": "post", "biomarkers": {"esr1": "positive"},
                           "current_therapies": ["letrozole", "ribociclib"]},
                          library.drug_names), library)
    assert "camizestrant" not in {d.item.id for d in on.drugs}
    assert any(n.startswith("camizestrant left out") for n in on.notes)
    tdm1 = select(normalise({"stage": "II", "er": "negative", "pr": "negative",
                             "her2": "positive", "menopause": "pre", "phase": "after-surgery",
                             "prior_therapies": [{"drug": "trastuzumab",
                                                  "setting": "before-surgery"}],
                             "current_therapies": ["trastuzumab-emtansine"]},
                            library.drug_names), library)
    assert "trastuzumab-deruxtecan" in {d.item.id for d in tdm1.drugs}
    assert any("not approved for this in Canada" in t for t in tdm1.texts())


def test_end_of_life_step_is_brief_while_on_treatment(library):
    p = normalise({"stage": "IV", "er": "negative", "pr": "negative", "her2": "negative",
                   "menopause": "post", "current_therapies": ["paclitaxel", "pembrolizumab"],
                   "biomarkers": {"pdl1": "positive"}}, library.drug_names)
    sec = next(s for s in select(p, library).walk() if s.item.id == "end-of-life")
    assert sec.mode == "short" and sec.item.ahead_label


def test_adjuvant_bisphosphonate_before_menopause_needs_the_ovaries_stopped(library):
    def ids(current):
        p = normalise({"stage": "I", "er": "positive", "pr": "positive", "her2": "negative",
                       "menopause": "pre", "phase": "follow-up", "current_therapies": current},
                      library.drug_names)
        return {d.item.id for d in select(p, library).drugs}
    assert not {"zoledronic-acid", "clodronate"} & ids(["tamoxifen"])
    assert {"zoledronic-acid", "clodronate"} <= ids(["tamoxifen", "goserelin"])


def test_no_second_non_steroidal_aromatase_inhibitor_in_stage_iv(library):
    """After letrozole, anastrozole is not offered as what may come (and the reverse);
    the text that names what comes next says "an aromatase inhibitor" instead."""
    for had, other in (("letrozole", "anastrozole"), ("anastrozole", "letrozole")):
        p = normalise({"stage": "IV", "er": "positive", "her2": "negative", "menopause": "post",
                       "prior_therapies": [had], "current_therapies": ["fulvestrant"]},
                      library.drug_names)
        plan = select(p, library)
        drugs = {d.item.id for d in plan.drugs}
        assert other not in drugs and had in drugs
        assert all(other not in t.lower() for t in plan.texts())


def test_my_medicines_page_says_what_each_medicine_is_for(library):
    import datetime as dt
    from booklet.context import Options, build_context
    p = normalise({"stage": "IV", "er": "positive", "her2": "negative", "sex": "male",
                   "current_therapies": ["anastrozole", "abemaciclib", "leuprolide"]},
                  library.drug_names)
    meds = build_context(select(p, library), Options(date=dt.date(2026, 12, 6)))["my_medicines"]
    assert [m["what_for"] for m in meds] == ["Hormone therapy", "Lowers male hormones",
                                             "Targeted pill"]


def test_a_card_names_the_persons_province_drug_program_once(library):
    """Alberta, stage II: the T-DM1 card gives the national advice, then Alberta's own
    cancer drug program, word for word; an Ontario card does not name it."""
    base = {"stage": "II", "er": "negative", "pr": "negative", "her2": "positive",
            "phase": "after-surgery", "current_therapies": ["trastuzumab emtansine"],
            "prior_therapies": [{"drug": "trastuzumab", "setting": "before-surgery"}]}
    program = library.snippets["province-drugs-ab"].text.split()
    for province, shown in (("AB", True), ("ON", False)):
        plan = select(normalise({**base, "province": province}, library.drug_names), library)
        texts = [t for w, t in plan.located_texts() if w == "drug trastuzumab-emtansine funding"]
        assert (" ".join(program) in texts) == shown
        assert len(texts) >= 1
