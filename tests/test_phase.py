"""Steps by phase: what is behind the person shrinks, safety content never does."""

from __future__ import annotations

import itertools

import pytest

from booklet.errors import ProfileError
from booklet.profile import normalise
from booklet.rules import match
from booklet.select import select

PHASES = ("diagnosis", "before-surgery", "after-surgery", "follow-up")


def early_profiles():
    for stage, ctype, hr, her2, meno, sex, phase in itertools.product(
            ("0", "I", "II", "III"), ("idc", "ilc", "ibc", "dcis"), ("positive", "negative"),
            ("positive", "negative", "low"), ("pre", "post", "unknown"), ("female", "male"),
            PHASES):
        if sex == "male" and meno != "unknown":
            continue
        yield {"stage": stage, "type": ctype, "er": hr, "pr": hr, "her2": her2,
               "menopause": meno, "sex": sex, "phase": phase}


def test_safety_content_never_shrinks_in_any_phase(library):
    checked = 0
    safety = [s for s in library.steps.values() if s.safety]
    assert safety, "no step is marked safety: true"
    for data in early_profiles():
        try:
            profile = normalise(data, library.drug_names)
            plan = select(profile, library)
        except ProfileError:
            continue
        checked += 1
        full = {s.item.id for s in plan.walk() if s.mode == "full"}
        for step in safety:
            parent_ok = step.parent is None or match(library.steps[step.parent].applies, profile).ok
            if match(step.applies, profile).ok and parent_ok:
                assert step.id in full, f"{step.id} shrank in phase {profile.phase}"
        assert any(s.item.safety and s.mode == "full" for s in plan.walk()), data
    assert checked > 500


@pytest.mark.parametrize("phase", PHASES)
def test_steps_behind_shrink_and_ahead_are_short(library, phase):
    p = normalise({"stage": "II", "er": "positive", "pr": "positive", "her2": "negative",
                   "menopause": "post", "phase": phase}, library.drug_names)
    plan = select(p, library)
    modes = {s.item.id: s.mode for s in plan.sections}
    if phase == "follow-up":
        assert any(m == "done" for m in modes.values()) or any(
            n.startswith("section") for n in plan.notes)
    if phase == "diagnosis":
        assert "done" not in modes.values()
    for sec in plan.sections:
        if sec.mode != "full":
            assert not sec.questions and not sec.body
            # only safety sub-sections stay, in full (signs to call about never shrink)
            assert all(c.item.safety and c.mode == "full" for c in sec.children)


def test_stage_iv_on_treatment_keeps_safety_and_drops_choosing(library):
    p = normalise({"stage": "IV", "er": "positive", "pr": "positive", "her2": "negative",
                   "menopause": "post", "current_therapies": ["letrozole", "ribociclib"]},
                  library.drug_names)
    plan = select(p, library)
    modes = {s.item.id: s.mode for s in plan.walk()}
    assert modes.get("when-to-call") == "full"
    assert any(m != "full" for m in modes.values()) or plan.notes
