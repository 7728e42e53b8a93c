"""Does every sentence of a plan fit its person? Word-level checks over the planned text.

Used by `booklet content fit` (a sweep over the profile space, for content writers) and by
the property tests. Each check reads the text the booklet shows (`Plan.located_texts`),
never the rules that chose it, so a sentence written for someone else is caught wherever
it comes from.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

from booklet.select import Plan

SENTENCE = re.compile(r"(?<=[.!?])\s+")

FEMALE_BODY = re.compile(r"\b(periods?|vaginal?|vulva|ovary|ovaries|ovarian|menopaus\w*|"
                         r"womb|uterus|uterine)\b", re.IGNORECASE)
PREGNANCY = re.compile(r"\b(pregnan\w*|birth control|contracepti\w*|breastfeed\w*)\b",
                       re.IGNORECASE)
PARTNER = re.compile(r"\bpartner", re.IGNORECASE)
PERIODS = re.compile(r"\b(periods?|birth control|contracepti\w*|pregnan\w*)\b", re.IGNORECASE)
STAGE_IV_WORDS = re.compile(r"\b(stage IV|stage 4|metastatic|metastas[ie]s|first line|"
                            r"second line|third line|lines? of treatment)\b", re.IGNORECASE)
EARLY_WORDS = re.compile(r"\b(stage (0|I|II|III|1|2|3)(?![\wV])|adjuvant|neoadjuvant|DCIS|"
                         r"early[- ]stage)\b")
DANGLING = re.compile(r"\b(see (the )?(part|chapter|section|page|below|above)|as (said|noted) "
                      r"above|(added|given|taken|used) (\w+ ){0,3}the same way(?! (as|every))|"
                      r"chapter explains|explained (earlier|later|above|below)|"
                      r"described (earlier|above|below))\b", re.IGNORECASE)
CHEMO_AHEAD = re.compile(r"\b(before (your )?chemotherapy (starts|begins)|during chemotherapy|"
                         r"chemotherapy may start|before your first dose of chemotherapy)\b",
                         re.IGNORECASE)
ONTARIO = re.compile(r"\bOntario\b")
OTHER_PROVINCE = re.compile(r"\b(Alberta|British Columbia|Manitoba|New Brunswick|Newfoundland|"
                            r"Nova Scotia|Prince Edward Island|Qu[eé]bec|Saskatchewan|Yukon|"
                            r"Nunavut|Northwest Territories|each province|every province)\b",
                            re.IGNORECASE)
MARKERS = {"brca": r"BRCA", "pik3ca": r"PIK3CA", "esr1": r"ESR1", "pdl1": r"PD-L1"}
ASK_TEST = re.compile(r"\b(test|tested|testing)\b", re.IGNORECASE)


def _sentences(text: str) -> list[str]:
    return [s for s in SENTENCE.split(" ".join(text.split())) if s]


def _features(sentence: str, lib) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """What a sentence says, independent of the person (cached: sentences repeat)."""
    cache = lib.__dict__.setdefault("_fit_features", {})
    if sentence in cache:
        return cache[sentence]

    def found(rx: re.Pattern[str]) -> str:
        m = rx.search(sentence)
        return m.group(0) if m else ""

    feats = {
        "female": found(FEMALE_BODY), "pregnancy": found(PREGNANCY),
        "partner": bool(PARTNER.search(sentence)), "periods": found(PERIODS),
        "stage4": found(STAGE_IV_WORDS), "early": found(EARLY_WORDS),
        "dangling": found(DANGLING), "chemo_ahead": found(CHEMO_AHEAD),
        "ontario_only": bool(ONTARIO.search(sentence)) and not OTHER_PROVINCE.search(sentence),
        "asks_test": bool(ASK_TEST.search(sentence)),
        "markers": [m for m, w in MARKERS.items() if re.search(w, sentence)],
        "drugs": sorted(lib.drugs_in(sentence)),
    }
    cache[sentence] = feats
    return feats


def problems(plan: Plan) -> list[str]:
    """Every sentence that does not fit the plan's profile, with where it comes from."""
    p = plan.profile
    lib = plan.library
    out: list[str] = []
    shown = {d.item.id for d in plan.drugs}
    # chemotherapy behind the person: had it, none now, and surgery done (stages 0-III)
    chemo_behind = (p.stage in ("0", "I", "II", "III") and p.phase in ("after-surgery", "follow-up")
                    and any(lib.drugs[d].group == "chemotherapy" for d in p.prior_therapies
                            if d in lib.drugs)
                    and "chemotherapy" not in p.current_groups)

    def bad(where: str, sentence: str, why: str) -> None:
        out.append(f"{where}: {why}: \"{sentence[:120]}\"")

    for where, text in plan.located_texts():
        for sentence in _sentences(text):
            f = _features(sentence, lib)
            if p.sex == "male":
                if f["female"]:
                    bad(where, sentence, f"'{f['female']}' in a man's booklet")
                if f["pregnancy"] and not f["partner"]:
                    bad(where, sentence, f"'{f['pregnancy']}' for a man, not about a partner")
            if p.sex == "female" and p.menopause == "post" and f["periods"]:
                bad(where, sentence, f"'{f['periods']}' after menopause")
            if p.stage in ("0", "I", "II", "III") and f["stage4"]:
                bad(where, sentence, f"'{f['stage4']}' in a stage {p.stage} booklet")
            if p.stage == "IV" and f["early"]:
                bad(where, sentence, f"'{f['early']}' in a stage IV booklet")
            if chemo_behind and f["chemo_ahead"]:
                bad(where, sentence, f"'{f['chemo_ahead']}' when chemotherapy is behind the person")
            if p.province not in (None, "ON") and f["ontario_only"]:
                bad(where, sentence, f"an Ontario program for someone in {p.province}")
            if f["dangling"]:
                bad(where, sentence, f"cross-reference in words ('{f['dangling']}'); use a link")
            if where.startswith("question") and f["asks_test"]:
                for marker in f["markers"]:
                    if p.biomarkers.get(marker) == "negative":
                        bad(where, sentence, f"asks about a {MARKERS[marker]} test, but it is negative")
            for drug_id in f["drugs"]:
                if drug_id not in shown:
                    bad(where, sentence, f"names {drug_id}, which has no card or entry")
    return out


def core_space() -> Iterator[dict[str, object]]:
    """stage x type x ER x PR x HER2 x menopause x sex x phase: every combination."""
    from booklet.profile import HER2, MENOPAUSE, PHASES, SEXES, STAGES, STATUS, TYPES

    for stage, ctype, er, pr, her2, meno, sex in itertools.product(
            STAGES, TYPES, STATUS, STATUS, HER2, MENOPAUSE, SEXES):
        if sex == "male" and meno != "unknown":
            continue
        phases = ("unknown",) if stage == "IV" else PHASES
        for phase in phases:
            yield {"stage": stage, "type": ctype, "er": er, "pr": pr, "her2": her2,
                   "menopause": meno, "sex": sex, "phase": phase}


def extra_space(lib) -> Iterator[dict[str, object]]:  # type: ignore[no-untyped-def]
    """Biomarkers recorded, current therapies each drug's own rule allows, known sites."""
    from booklet.profile import BIOMARKERS, SITES

    for sex, meno in (("female", "pre"), ("female", "post"), ("male", "unknown")):
        for her2 in ("positive", "negative", "low", "ultralow"):
            for hr in ("positive", "negative"):
                base = {"stage": "IV", "type": "idc", "er": hr, "pr": hr, "her2": her2,
                        "sex": sex, "menopause": meno}
                for marker in BIOMARKERS:
                    for value in ("positive", "negative"):
                        yield {**base, "biomarkers": {marker: value}}
                for site in SITES[:-1]:
                    yield {**base, "metastases": [site]}
                yield {**base, "prior_therapies": ["letrozole", "palbociclib"]}
    for drug in lib.drugs.values():
        for use in drug.uses:
            rule = use.applies
            data: dict[str, object] = {}
            for key in ("stage", "type", "er", "pr", "her2", "menopause", "sex", "hr"):
                if key in rule:
                    data[key] = rule[key][0]
            for marker in BIOMARKERS:
                if marker in rule:
                    data.setdefault("biomarkers", {})[marker] = rule[marker][0]  # type: ignore[index]
            if data.get("sex") == "male":
                data.pop("menopause", None)
            if data.get("stage") not in ("IV", None) and data.get("stage") != "unknown":
                data["phase"] = "after-surgery"
            if data.get("stage") == "unknown":
                continue
            data["current_therapies"] = [drug.id]
            yield data
            yield {**data, "province": "NS"}  # a province's own programs stay with it
    yield from _early_histories(lib)


def _early_histories(lib) -> Iterator[dict[str, object]]:  # type: ignore[no-untyped-def]
    """Stages II-III after a regimen that fits them: its drugs given before or after surgery,
    then after surgery or in follow-up, with nothing current."""
    from booklet.rules import match
    from booklet.profile import Profile

    people = (("female", "pre"), ("female", "post"), ("male", "unknown"))
    for regimen in lib.regimens.values():
        for (sex, meno), stage, hr, her2 in itertools.product(
                people, ("II", "III"), ("positive", "negative"), ("positive", "negative")):
            base = {"stage": stage, "type": "idc", "er": hr, "pr": hr, "her2": her2,
                    "sex": sex, "menopause": meno}
            trial = Profile(**base, phase="before-surgery")
            if not match(regimen.applies, trial).ok:
                continue
            for setting, phase in itertools.product(("before-surgery", "after-surgery"),
                                                    ("after-surgery", "follow-up")):
                yield {**base, "phase": phase,
                       "prior_therapies": [{"drug": d, "setting": setting}
                                           for d in regimen.drugs]}
