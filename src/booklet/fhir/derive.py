"""From one patient's FHIR (mCODE) record to the fields of a booklet profile.

Every field says where it came from (resource, element, code), and every doubt is a note:
a conflict, a value read from text, an age hint, a non-breast primary, an unmapped code,
more than one breast primary. A field the record does not give stays unknown.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from booklet.errors import ProfileError
from booklet.fhir import codes as C
from booklet.fhir.record import Record, name

BIOMARKERS = ("brca", "pdl1", "pik3ca", "esr1")
STAGE_RANK = {"pathological": 2, "clinical": 1, "other": 0}
ACTIVE = ("active", "recurrence", "relapse")
ROMAN = {"0": "0", "1": "I", "2": "II", "3": "III", "4": "IV",
         "i": "I", "ii": "II", "iii": "III", "iv": "IV"}
CANCER_WORDS = r"carcinoma|cancer|malignan|neoplasm|tumou?r|sarcoma|lymphoma|leuka?emia|melanoma|myeloma"


class NoBreastCancer(ProfileError):
    """The record holds no breast cancer: nothing to make a booklet about (exit 2)."""


@dataclass
class Note:
    """One thing a reader should check: `field` is a profile field, or 'record'."""

    field: str
    text: str
    warn: bool = True

    def __str__(self) -> str:
        return f"{self.field}: {self.text}"


@dataclass
class Derived:
    patient: str                                   # 'Patient/p1' (an id, never a name)
    data: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, list[str]] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)
    age: int | None = None          # at the booklet date, from Patient.birthDate
    age_source: str = ""
    gnrh: list[str] = field(default_factory=list)  # GnRH agonists current or had

    def set(self, key: str, value: Any, source: str) -> None:
        self.data[key] = value
        if source:
            self.sources.setdefault(key, []).append(source)

    def note(self, key: str, text: str, warn: bool = True) -> None:
        if not any(n.field == key and n.text == text for n in self.notes):
            self.notes.append(Note(key, text, warn))

    @property
    def warnings(self) -> list[Note]:
        return [n for n in self.notes if n.warn]


# ---------------------------------------------------------------- small helpers

def day(value: Any) -> str:
    """The YYYY-MM-DD (or shorter) part of a FHIR date or dateTime, '' when absent."""
    return value[:10] if isinstance(value, str) else ""


def when(res: dict[str, Any]) -> str:
    """The clinically relevant date of a resource, '' when it has none."""
    for key in ("effectiveDateTime", "onsetDateTime", "performedDateTime", "effectiveInstant",
                "recordedDate", "authoredOn", "issued", "occurrenceDateTime"):
        if res.get(key):
            return day(res[key])
    for key in ("effectivePeriod", "onsetPeriod", "performedPeriod"):
        period = res.get(key)
        if isinstance(period, dict) and (period.get("start") or period.get("end")):
            return day(period.get("start") or period.get("end"))
    for ext in res.get("extension") or []:
        if isinstance(ext, dict) and str(ext.get("url", "")).endswith("condition-assertedDate"):
            return day(ext.get("valueDateTime"))
    return ""


def period(res: dict[str, Any]) -> tuple[str, str]:
    """(start, end) of a medication record, from whichever element holds them."""
    for key in ("effectivePeriod", "performedPeriod"):
        p = res.get(key)
        if isinstance(p, dict):
            return day(p.get("start")), day(p.get("end"))
    if res.get("effectiveDateTime"):
        d = day(res["effectiveDateTime"])
        return d, d
    for dose in res.get("dosageInstruction") or []:
        bounds = ((dose.get("timing") or {}).get("repeat") or {}).get("boundsPeriod") \
            if isinstance(dose, dict) else None
        if isinstance(bounds, dict) and bounds.get("start"):
            return day(bounds.get("start")), day(bounds.get("end"))
    return day(res.get("authoredOn")), ""


def status_code(concept: Any) -> str:
    for _, code, _ in C.codings(concept):
        return code.lower()
    return ""


def profiles(res: dict[str, Any]) -> str:
    meta = res.get("meta")
    return " ".join(map(str, meta.get("profile") or [])) if isinstance(meta, dict) else ""


def pad(d: str) -> str:
    """A partial date made comparable: '2024' -> '2024-00-00'."""
    return (d + "-00-00")[:10] if d else ""


def live(res: dict[str, Any]) -> bool:
    """Observations and Conditions that count: not entered in error, cancelled or refuted."""
    if res.get("status") in ("entered-in-error", "cancelled"):
        return False
    return status_code(res.get("verificationStatus")) not in ("entered-in-error", "refuted")


# ---------------------------------------------------------------- conditions

@dataclass
class Diagnosis:
    res: dict[str, Any]
    kind: str                 # breast | dcis | lcis | in-situ | secondary | other | none
    type: str = "unknown"     # for breast: idc | ilc | dcis | ibc | rare | unknown
    site: str = ""            # for secondary
    how: str = ""             # the code or text it was read from
    from_text: bool = False
    nos: bool = False

    @property
    def ref(self) -> str:
        return name(self.res)


def classify(cond: dict[str, Any]) -> Diagnosis:
    """What a Condition says: a breast primary, DCIS, LCIS, spread, another cancer, or none."""
    table = C.table("conditions")
    code = cond.get("code")
    declared = profiles(cond)
    for sys, value, display in C.codings(code):
        row = None
        if sys == "snomed":
            row = table["snomed"].get(value)
        elif sys == "icd10":
            icd = C.icd10(value)
            for prefix in sorted(table["icd10"], key=len, reverse=True):
                if icd.startswith(prefix):
                    row = table["icd10"][prefix]
                    break
            if row is None and _icd_cancer(icd, table["icd10_other_cancer"]):
                row = {"kind": "other"}
        if row is not None:
            how = C.show(sys, value, display or row.get("display", ""))
            return Diagnosis(cond, row["kind"], row.get("type", "unknown"), row.get("site", ""), how,
                             nos=row.get("type") == "unknown")
    text = C.words(code).lower()
    how = f"Condition.code text '{C.words(code)}'" if text else "Condition.code (empty)"
    secondary = "secondary-cancer-condition" in declared or re.search(r"metasta|secondary", text)
    cancer = re.search(CANCER_WORDS, text) or "cancer-condition" in declared
    if secondary and cancer:
        site = C.matches(table["body_site"]["text"], text)
        return Diagnosis(cond, "secondary", "", site["site"] if site else "body-site", how, True)
    if cancer and "breast" in text:
        row = C.matches(table["text"], text)
        kind = {"dcis": "dcis", "lcis": "lcis"}.get(row["type"] if row else "", "breast")
        return Diagnosis(cond, kind, row["type"] if row else "unknown", "", how, True)
    if cancer and re.search(CANCER_WORDS, text):
        return Diagnosis(cond, "other", how=how, from_text=True)
    if "primary-cancer-condition" in declared:
        return Diagnosis(cond, "other", how=how + " (an mCODE primary cancer condition)",
                         from_text=bool(text))
    return Diagnosis(cond, "none", how=how)


def _icd_cancer(code: str, span: Mapping[str, str]) -> bool:
    match = re.match(r"C(\d\d)", code)
    return bool(match) and int(span["from"][1:]) <= int(match.group(1)) <= int(span["to"][1:])


def histology(cond: dict[str, Any]) -> tuple[str, str, bool, bool] | None:
    """The mCODE histology extension: (type, how, not-otherwise-specified, from text)."""
    table = C.table("conditions")["histology"]
    for ext in cond.get("extension") or []:
        if not (isinstance(ext, dict) and "histology-morphology-behavior" in str(ext.get("url"))):
            continue
        concept = ext.get("valueCodeableConcept")
        for sys, value, display in C.codings(concept):
            key = C.icdo3(value) if sys == "icdo3" else value
            row = table.get(sys or "", {}).get(key)
            if row:
                return (row["type"] if not row.get("mixed") else "mixed",
                        f"histology extension {C.show(sys, key, display or row['display'])}",
                        bool(row.get("nos")), False)
        text = C.words(concept)
        row = C.matches(C.table("conditions")["text"], text) if text else None
        if row:
            return row["type"], f"histology extension {C.show_concept(concept)}, text '{text}'", \
                row["type"] == "unknown", True
        if text or C.codings(concept):
            return "unknown", f"histology extension {C.show_concept(concept)} (not in the code table)", \
                False, False
    return None


def body_site(cond: dict[str, Any]) -> tuple[str, str, bool]:
    """(site, how, from text) from Condition.bodySite, for a generic secondary-cancer code."""
    table = C.table("conditions")["body_site"]
    for concept in cond.get("bodySite") or []:
        for sys, value, display in C.codings(concept):
            row = table["snomed"].get(value) if sys == "snomed" else None
            if row:
                return row["site"], f"bodySite {C.show(sys, value, display or row['display'])}", False
        text = C.words(concept)
        row = C.matches(table["text"], text) if text else None
        if row:
            return row["site"], f"bodySite text '{text}'", True
    return "unknown", "no readable bodySite", False


# ---------------------------------------------------------------- observations

def obs_code(obs: dict[str, Any], families: Mapping[str, Mapping[str, Any]]) -> tuple[dict[str, Any], str] | None:
    """The table row of an Observation.code among `families` ({system: {code: row}})."""
    for sys, value, display in C.codings(obs.get("code")):
        row = families.get(sys or "", {}).get(value)
        if row:
            return row, C.show(sys, value, display or row.get("display", ""))
    return None


def stage_of(concept: Any, table: Mapping[str, Any]) -> tuple[str, str, bool] | None:
    """A stage group value: (stage, how, read from text) or None if it cannot be read."""
    for sys, value, display in C.codings(concept):
        if sys == "ajcc":
            m = re.fullmatch(r"(?:y?[cpra])?\s*(0|1|2|3|4)(?:is)?\s*([abc]\d?)?", value.strip().lower())
            if m:
                return ROMAN[m.group(1)], f"AJCC {value}", False
        if sys == "snomed" and value in table["stage_values"]["snomed"]:
            row = table["stage_values"]["snomed"][value]
            return row["stage"], C.show(sys, value, display or row["display"]), False
    for sys, value, display in C.codings(concept):
        found = _stage_text(display)
        if found:
            return found, f"{C.show(sys, value, display)}: read from its display (code not in the table)", True
    text = C.words(concept)
    found = _stage_text(text) if isinstance(concept, str) or not C.codings(concept) else None
    if found:
        return found, f"text '{text}'", True
    return None


def _stage_text(text: str) -> str | None:
    m = re.search(r"\bstage\s*(0|1|2|3|4|iv|i{1,3})\s*[abc]?\b", text.lower()) or \
        re.fullmatch(r"\s*(?:y?[cp])?(0|1|2|3|4|iv|i{1,3})\s*[abc]?\s*", text.lower())
    return ROMAN[m.group(1)] if m else None


def m_of(concept: Any, table: Mapping[str, Any]) -> tuple[str, str, bool] | None:
    """An M category value: ('M1' or 'M0', how, from text)."""
    for sys, value, display in C.codings(concept):
        if sys == "snomed" and value in table["m_values"]["snomed"]:
            row = table["m_values"]["snomed"][value]
            return row["m"], C.show(sys, value, display or row["display"]), False
        if sys == "ajcc":
            m = re.fullmatch(r"(?:y?[cp])?m([01])\w*(?:\(i\+\))?", value.strip().lower())
            if m:
                return f"M{m.group(1)}", f"AJCC {value}", False
    text = C.words(concept)
    m = re.search(r"\b(?:y?[cp])?m([01])\b", text.lower())
    if m:
        return f"M{m.group(1)}", f"text '{text}'", True
    return None


@dataclass
class Result:
    marker: str
    method: str
    value: str        # positive | negative | equivocal | low | ultralow | 0 | 1+ | 2+ | 3+ | present | absent
    date: str
    how: str
    from_text: bool = False


def read_value(obs: dict[str, Any], marker: str, method: str) -> tuple[str, str, bool] | None:
    """An Observation's result as (value, how, from text)."""
    answers = C.table("markers")["answers"]
    concept = obs.get("valueCodeableConcept")
    for sys, value, display in C.codings(concept):
        row = answers.get(sys or "", {}).get(value)
        if row:
            return _presence(row["result"]), f"value {C.show(sys, value, display or row['display'])}", False
    for concept_i in obs.get("interpretation") or []:
        for sys, value, display in C.codings(concept_i):
            row = answers.get("interpretation", {}).get(value.upper()) if sys == "interpretation" else None
            if row:
                return _presence(row["result"]), \
                    f"interpretation {C.show(sys, value, display or row['display'])}", False
    for key in ("valueQuantity", "valueInteger"):
        if key in obs:
            number = obs[key].get("value") if isinstance(obs[key], dict) else obs[key]
            if isinstance(number, (int, float)):
                return _number(number, marker, method, obs[key])
    text = obs.get("valueString") or C.words(concept)
    if text:
        found = read_text(str(text), marker)
        if found:
            return found, f"text '{text}'", True
    return None


def _presence(result: str) -> str:
    return {"present": "positive", "absent": "negative"}.get(result, result)


def _number(number: float, marker: str, method: str, raw: Any) -> tuple[str, str, bool] | None:
    unit = raw.get("unit") or raw.get("code") or "" if isinstance(raw, dict) else ""
    shown = f"{number:g}{' ' + unit if unit else ''}"
    if marker in ("er", "pr") and (method == "percent" or "%" in unit):
        cut = C.table("markers")["receptor_positive_percent"]
        return ("positive" if number >= cut else "negative"), \
            f"{shown} of cells stained (positive from {cut} %)", False
    if marker == "her2" and method == "ihc" and number in (0, 1, 2, 3):
        return ("0" if number == 0 else f"{int(number)}+"), f"IHC score {int(number)}", False
    if marker == "her2" and method == "ish":
        return ("positive" if number >= 2.0 else "negative"), \
            f"HER2/CEP17 ratio {shown}, read alone (amplified from 2.0; the copy number is not used)", True
    return None


def read_text(text: str, marker: str) -> str | None:
    """A result written as words: 'positive', 'HER2 2+', 'not amplified', 'ultralow'."""
    low = " ".join(text.lower().split())
    sign = re.search(r"\b(?:er|pr|pgr|hr|her-?2)\s*(\+|-(?!\s*[a-z0-9]))", low)
    if sign and marker != "her2":
        return "positive" if sign.group(1) == "+" else "negative"
    if marker == "her2":
        if re.search(r"ultra\s*-?\s*low|faint|barely perceptible|incomplete membrane staining in\s*[<≤]?\s*10", low):
            return "ultralow"
        score = re.search(r"(?:ihc|score)?\s*\b([0-3])\s*\+", low) or re.search(r"(?:ihc|score)\s*:?\s*([0-3])\b", low)
        if score:
            return "0" if score.group(1) == "0" else f"{score.group(1)}+"
        if re.search(r"\blow\b", low):
            return "low"
        if re.search(r"not amplified|non\s*-?\s*amplified|no amplification", low):
            return "negative"
        if re.search(r"\bamplified\b", low):
            return "positive"
    if re.search(r"equivocal|indeterminate|borderline", low):
        return "equivocal"
    if re.search(r"\bneg(?:ative)?\b|\bnot detected\b|\babsent\b|\bno pathogenic\b|(?<![a-z0-9])-(?:ve)?\s*$", low):
        return "negative"
    if re.search(r"\bpos(?:itive)?\b|\bdetected\b|\bpresent\b|\bpathogenic\b|(?<![a-z0-9])\+(?:ve)?\s*$", low):
        return "positive"
    return None


# ---------------------------------------------------------------- the derivation

def derive(record: Record, as_of: dt.date, drug_names: Mapping[str, Iterable[str]]) -> Derived:
    """The profile fields for the one patient in `record`. Raises NoBreastCancer."""
    patients = record.of("Patient")
    pid = name(patients[0]) if patients else "Patient (not in the record)"
    out = Derived(pid)
    for problem in record.problems:
        out.note("record", problem)
    for dup in record.duplicates:
        out.note("record", dup, warn=False)
    if not patients:
        out.note("record", "no Patient resource: sex, age, language and province are not known")

    primary, others, secondaries = _conditions(record, out)
    _patient(patients[0] if patients else None, out, as_of)
    _type(primary, others, out)
    stage, metastatic_since = _stage(record, primary, secondaries, out)
    _receptors(record, primary, out)
    _biomarkers(record, out)
    surgery = _procedures(record, out)
    _medications(record, out, drug_names, stage, metastatic_since, surgery)
    _phase(out, stage, surgery)
    _menopause(record, out, as_of)
    return out


def _conditions(record: Record, out: Derived) -> tuple[Diagnosis, list[Diagnosis], list[Diagnosis]]:
    found = [classify(c) for c in record.of("Condition")]
    dropped = [d for d in found if d.kind != "none" and not live(d.res)]
    for d in dropped:
        out.note("record", f"{d.ref} ({d.how}) is marked "
                 f"{status_code(d.res.get('verificationStatus')) or d.res.get('status')}: not used", warn=False)
    found = [d for d in found if d.kind != "none" and live(d.res)]
    for d in found:
        if d.from_text and d.kind in ("breast", "dcis", "lcis", "other", "secondary"):
            out.note("record", f"{d.ref}: the code is missing or not in the code table; read from "
                     f"its text as {_kind_words(d)} ({d.how})")
    for d in found:
        if d.kind == "other":
            out.note("record", f"{d.ref} is a primary cancer that is not breast cancer ({d.how}); "
                     "this booklet is about breast cancer only")
    breast = [d for d in found if d.kind in ("breast", "dcis", "in-situ")]
    lcis = [d for d in found if d.kind == "lcis"]
    secondaries = [d for d in found if d.kind == "secondary"]
    if not breast:
        others = [d for d in found if d.kind == "other"]
        what = []
        if lcis:
            what.append(f"{lcis[0].ref} is lobular carcinoma in situ (LCIS), which is not cancer")
        if others:
            what.append("the cancer in it is not breast cancer: " + "; ".join(f"{d.ref} ({d.how})" for d in others))
        unread = [p for p in record.problems if "Condition/" in p]
        if unread:
            what.append("some Conditions could not be read: " + "; ".join(unread))
        raise NoBreastCancer(f"{out.patient}: no breast cancer in the record"
                             + (": " + "; ".join(what) if what else
                                " (no Condition with a breast-cancer code or text)"))
    invasive = [d for d in breast if d.kind == "breast" and d.type != "dcis"]
    if invasive:
        for d in breast:
            if d not in invasive:
                out.note("type", f"{d.ref} ({d.how}) is in situ disease alongside an invasive cancer: "
                         "part of that cancer, not a DCIS diagnosis", warn=False)
        pool = invasive
    else:
        pool = breast
    ranked = sorted(pool, key=lambda d: (status_code(d.res.get("clinicalStatus")) in ACTIVE,
                                         pad(when(d.res))), reverse=True)
    primary = ranked[0]
    if len(pool) > 1:
        out.note("record", f"more than one breast primary: {', '.join(f'{d.ref} ({d.how})' for d in pool)}; "
                 f"this profile uses {primary.ref} ({'active, ' if status_code(primary.res.get('clinicalStatus')) in ACTIVE else ''}"
                 f"the newest): check that it is the cancer the booklet is for")
    return primary, [d for d in breast + lcis if d is not primary], secondaries


def _kind_words(d: Diagnosis) -> str:
    return {"breast": "breast cancer", "dcis": "DCIS", "lcis": "LCIS", "other": "a cancer that is not breast cancer",
            "secondary": "spread of the cancer"}.get(d.kind, d.kind)


def _patient(patient: dict[str, Any] | None, out: Derived, as_of: dt.date) -> None:
    if patient is None:
        return
    ref = name(patient)
    gender = patient.get("gender")
    if gender in ("female", "male"):
        out.set("sex", gender, f"{ref} gender '{gender}'")
    else:
        out.note("sex", f"{ref} gender is '{gender or 'not given'}'; the profile has female or male, "
                 "so the booklet's default (female) applies: check it")
    birth = patient.get("birthDate")
    if isinstance(birth, str) and re.match(r"\d{4}", birth):
        out.age = _age(birth, as_of)
        out.age_source = f"{ref} birthDate"
    first = _best(patient.get("name") or [], lambda n: n.get("use") in ("official", "usual"))
    if first:
        text = first.get("text") or " ".join([*(first.get("given") or [])[:1], first.get("family") or ""]).strip()
        if text:
            out.set("name", " ".join(text.split()), f"{ref} name")
    for comm in sorted(patient.get("communication") or [], key=lambda c: not c.get("preferred")):
        lang = next((code for _, code, _ in C.codings(comm.get("language"))), "")
        if not lang:
            continue
        short = lang.lower().split("-")[0]
        mapped = C.table("procedures")["languages"].get(short)
        if mapped:
            out.set("language", mapped, f"{ref} communication.language '{lang}'")
        else:
            out.note("language", f"{ref} communication.language is '{lang}': booklets are in English "
                     "or French; English is used")
        break
    _province(patient, ref, out)


def _best(items: list[Any], prefer: Any) -> dict[str, Any] | None:
    items = [i for i in items if isinstance(i, dict)]
    for item in items:
        if prefer(item):
            return item
    return items[0] if items else None


def _age(birth: str, as_of: dt.date) -> int:
    year = int(birth[:4])
    month = int(birth[5:7]) if len(birth) >= 7 else 1
    dom = int(birth[8:10]) if len(birth) >= 10 else 1
    return as_of.year - year - ((as_of.month, as_of.day) < (month, dom))


def _province(patient: dict[str, Any], ref: str, out: Derived) -> None:
    from booklet.profile import Invalid, _province as read

    addresses = [a for a in patient.get("address") or [] if isinstance(a, dict)
                 and not (a.get("period") or {}).get("end") and a.get("use") != "old"]
    address = _best(addresses, lambda a: a.get("use") == "home")
    if address is None:
        return
    state, country = address.get("state"), str(address.get("country") or "").strip()
    if not state:
        return
    if country and country.upper() not in ("CA", "CAN", "CANADA"):
        out.note("province", f"{ref} address is in '{country}' (state '{state}'), not in Canada: "
                 "province left out")
        return
    try:
        value = read(state)
    except Invalid:
        out.note("province", f"{ref} address.state '{state}' is not a Canadian province or territory: "
                 "province left out")
        return
    value = getattr(value, "value", value)
    out.set("province", value, f"{ref} address.state '{state}'")


def _type(primary: Diagnosis, others: list[Diagnosis], out: Derived) -> None:
    found: list[tuple[str, str]] = []  # (type, how)
    nos = []
    hist = histology(primary.res)
    if hist:
        htype, how, is_nos, from_text = hist
        if "not in the code table" in how:
            out.note("type", f"{primary.ref}: {how}: an unmapped code; not used")
        else:
            if from_text:
                out.note("type", f"{primary.ref}: {how}; read from text")
            if is_nos:
                nos.append(how)
            else:
                found.append((htype, how))
    if primary.kind == "dcis":
        found.append(("dcis", primary.how))
    elif primary.type not in ("unknown", "") and primary.kind == "breast":
        found.append((primary.type, primary.how))
    elif primary.nos or primary.type == "unknown":
        nos.append(primary.how)
    text = C.words(primary.res.get("code")).lower()
    if re.search(r"extensive intraductal component|\beic\b|with (?:associated )?dcis", text):
        out.note("type", f"{primary.ref}: DCIS with an extensive intraductal component inside an "
                 "invasive cancer is part of that cancer, not a DCIS diagnosis", warn=False)
    kinds = []
    for t, how in found:
        if t == "lcis":
            out.note("type", f"{primary.ref}: {how} is lobular carcinoma in situ (LCIS), which is not "
                     "cancer: type left unknown")
            continue
        if t == "mixed":
            out.note("type", f"{primary.ref}: {how} is mixed ductal and lobular; the profile has no "
                     "type for both: type left unknown")
            continue
        if t == "eic":
            continue
        kinds.append((t, how))
    types = {t for t, _ in kinds}
    if "ibc" in types:
        types = {"ibc"}  # inflammatory breast cancer is a clinical type, whatever its histology
    if len(types) > 1 and "dcis" in types:
        types.discard("dcis")  # the in situ part of an invasive cancer
    if len(types) == 1:
        value = types.pop()
        out.set("type", value, "; ".join(how for t, how in kinds if t == value or value == "ibc"))
    elif len(types) > 1:
        out.set("type", "unknown", "")
        out.note("type", "conflict: " + "; ".join(f"{how} says {t}" for t, how in kinds) +
                 ": type left unknown")
    else:
        out.set("type", "unknown", ("; ".join(nos) + ": not otherwise specified") if nos else "")
    for d in others:
        if d.kind == "lcis":
            out.note("type", f"{d.ref} ({d.how}) is lobular carcinoma in situ (LCIS), which is not "
                     "cancer: not used", warn=False)


def _stage(record: Record, primary: Diagnosis, secondaries: list[Diagnosis],
           out: Derived) -> tuple[str, str]:
    """Sets stage (and metastases for stage IV); returns (stage, date the spread was found)."""
    table = C.table("staging")
    groups, m1 = [], []
    for obs in record.of("Observation"):
        if not live(obs) or not _about(obs, primary, record):
            continue
        g = obs_code(obs, table["group"])
        if g:
            row, code_how = g
            value = stage_of(obs.get("valueCodeableConcept") or obs.get("valueString"), table)
            ref = name(obs)
            if value is None:
                out.note("stage", f"{ref} ({code_how}) has a stage group that cannot be read "
                         f"({C.show_concept(obs.get('valueCodeableConcept'))}): an unmapped code; not used")
                continue
            stage, how, from_text = value
            if from_text:
                out.note("stage", f"{ref}: stage group {how}")
            groups.append({"ref": ref, "timing": row["timing"], "date": when(obs), "stage": stage,
                           "how": how, "tnm": bool(obs.get("hasMember")), "res": obs})
    for obs in record.of("Observation"):
        if not live(obs) or not _about(obs, primary, record):
            continue
        m = obs_code(obs, table["distant_metastases"])
        if m:
            value = m_of(obs.get("valueCodeableConcept") or obs.get("valueString"), table)
            if value and value[0] == "M1":
                m1.append((name(obs), value[1], when(obs), value[2]))
    evidence = []  # (what, date)
    sites: list[str] = []
    for d in secondaries:
        status = status_code(d.res.get("clinicalStatus"))
        site, site_how = d.site, ""
        if site == "body-site":
            site, site_how, from_text = body_site(d.res)
            site_how = f", site from {site_how}"
            if from_text:
                out.note("metastases", f"{d.ref}: site read from text{site_how}")
        if site == "breast":
            out.note("metastases", f"{d.ref} ({d.how}{site_how}) is in the breast: not distant spread",
                     warn=False)
            continue
        if site == "regional":
            out.note("metastases", f"{d.ref} ({d.how}{site_how}): lymph nodes near the breast are "
                     "regional, not distant spread", warn=False)
            continue
        if site == "ambiguous":
            out.note("metastases", f"{d.ref} ({d.how}{site_how}): the record does not say whether these "
                     "lymph nodes are regional or distant: not counted as distant spread")
            continue
        if status and status not in ACTIVE:
            out.note("metastases", f"{d.ref} ({d.how}) has clinicalStatus '{status}': not counted as "
                     "active spread")
            continue
        if not status:
            out.note("metastases", f"{d.ref} ({d.how}) has no clinicalStatus: counted as active spread")
        evidence.append((f"{d.ref} ({d.how}{site_how}, {status or 'no status'})", when(d.res)))
        if site not in sites:
            sites.append(site)
    for ref, how, date, from_text in m1:
        evidence.append((f"{ref} (M category {how})", date))
        if from_text:
            out.note("stage", f"{ref}: M category read from text ({how})")

    chosen = None
    if groups:
        groups.sort(key=lambda g: (pad(g["date"]), STAGE_RANK[g["timing"]]), reverse=True)
        chosen = groups[0]
        ties = [g for g in groups if g["date"] == chosen["date"] and g["timing"] == chosen["timing"]
                and g["stage"] != chosen["stage"]]
        if ties:
            out.note("stage", "conflict: stage groups of the same kind and date disagree: " +
                     "; ".join(f"{g['ref']} says {g['stage']}" for g in [chosen, *ties]))
            chosen = None
        else:
            for g in groups[1:]:
                if g["stage"] != chosen["stage"]:
                    out.note("stage", f"conflict: {g['ref']} ({g['timing']}, {g['date'] or 'no date'}) says "
                             f"{g['stage']}; the newer or pathological {chosen['ref']} ({chosen['timing']}, "
                             f"{chosen['date'] or 'no date'}) says {chosen['stage']}, which is used")
    summary = _summary(primary, table, out)
    metastatic_since = ""
    if evidence:
        stage = "IV"
        dates = sorted(pad(d) for _, d in evidence if d)
        metastatic_since = dates[0][:10].replace("-00", "") if dates else ""
        said = [f"{g['ref']} says {g['stage']}" for g in groups if g["stage"] != "IV"]
        if summary and summary[0] != "IV":
            said.append(f"{primary.ref} stage.summary says {summary[0]}")
        src = "active distant spread or M1 means stage IV: " + "; ".join(w for w, _ in evidence)
        if said:
            out.note("stage", f"{src}, whatever the stage group says ({'; '.join(said)}): stage IV is used")
        out.set("stage", "IV", src)
        if sites:
            out.set("metastases", sites, "; ".join(w for w, _ in evidence if "Condition/" in w))
        return "IV", metastatic_since
    if chosen is not None:
        stage = chosen["stage"]
        src = f"{chosen['ref']} ({chosen['timing']} stage group, {chosen['date'] or 'no date'}): {chosen['how']}"
        if summary and summary[0] != stage:
            if chosen["tnm"]:
                out.note("stage", f"conflict: {primary.ref} stage.summary says {summary[0]} ({summary[1]}); "
                         f"the stage group {chosen['ref']} with its T, N and M says {stage}, which is used")
            else:
                out.note("stage", f"conflict: {primary.ref} stage.summary says {summary[0]} ({summary[1]}) but "
                         f"the stage group {chosen['ref']} says {stage} (and has no T, N, M to settle it): "
                         "stage left unknown")
                out.set("stage", "unknown", "")
                return "unknown", ""
        out.set("stage", stage, src)
        if stage == "IV":
            metastatic_since = chosen["date"]
        return stage, metastatic_since
    if groups:  # same-day conflict
        out.set("stage", "unknown", "")
        return "unknown", ""
    if summary:
        out.set("stage", summary[0], f"{primary.ref} stage.summary {summary[1]}")
        return summary[0], when(primary.res) if summary[0] == "IV" else ""
    if primary.kind == "dcis" or primary.type == "dcis":
        out.set("stage", "0", f"{primary.ref} is DCIS ({primary.how}), which is stage 0")
        return "0", ""
    out.set("stage", "unknown", "")
    out.note("stage", "no stage group or stage summary in the record: stage left unknown", warn=False)
    return "unknown", ""


def _summary(primary: Diagnosis, table: Mapping[str, Any], out: Derived) -> tuple[str, str] | None:
    for st in primary.res.get("stage") or []:
        if not isinstance(st, dict) or not st.get("summary"):
            continue
        value = stage_of(st["summary"], table)
        if value is None:
            out.note("stage", f"{primary.ref} stage.summary ({C.show_concept(st['summary'])}) cannot be "
                     "read: an unmapped code; not used")
            continue
        if value[2]:
            out.note("stage", f"{primary.ref} stage.summary {value[1]}")
        return value[0], value[1]
    return None


def _about(obs: dict[str, Any], primary: Diagnosis, record: Record) -> bool:
    """An Observation is about the chosen primary unless its focus names another Condition."""
    focus = [record.resolve(f) for f in obs.get("focus") or []]
    conditions = [f for f in focus if f is not None and f.get("resourceType") == "Condition"]
    return not conditions or any(f is primary.res for f in conditions)


def _marker_of(obs: dict[str, Any]) -> tuple[str, str, str, bool] | None:
    """(marker, method, how, from text) of a tumour-marker Observation."""
    table = C.table("markers")
    for sys, value, display in C.codings(obs.get("code")):
        row = table.get(sys or "", {}).get(value) if sys == "loinc" else None
        if row:
            return row["marker"], row["method"], C.show(sys, value, display or row["display"]), False
    text = C.words(obs.get("code"))
    if not text:
        return None
    low = text.lower()
    marker = next((r["marker"] for r in table["text"] if "marker" in r and re.search(r["pattern"], low)), None)
    if marker is None:
        return None
    method = next((r["method"] for r in table["text"] if "method" in r and re.search(r["pattern"], low)),
                  "interpretation")
    return marker, method, f"code text '{text}'", True


def _receptors(record: Record, primary: Diagnosis, out: Derived) -> None:
    results: dict[str, list[Result]] = {"er": [], "pr": [], "hr": [], "her2": [], "pdl1": []}
    for obs in record.of("Observation"):
        if not live(obs) or not _about(obs, primary, record):
            continue
        found = _marker_of(obs)
        if found is None:
            continue
        marker, method, code_how, code_text = found
        ref = name(obs)
        if method == "serum":
            out.note(marker, f"{ref} ({code_how}) is a blood (serum) test: it never gives the tumour's "
                     "HER2 status; not used")
            continue
        value = read_value(obs, marker, method)
        if value is None:
            out.note(marker, f"{ref} ({code_how}): the result "
                     f"({C.show_concept(obs.get('valueCodeableConcept')) if obs.get('valueCodeableConcept') else 'none'}) "
                     "cannot be read: an unmapped code; not used")
            continue
        val, how, val_text = value
        if code_text or val_text:
            what = []
            if code_text:
                what.append(f"the test read from its {code_how} (no code in the table)")
            if val_text:
                what.append(f"the result read from {how}")
            out.note(marker, f"{ref}: {' and '.join(what)}")
        results[marker].append(Result(marker, method, val, when(obs), f"{ref} {code_how}: {how}", val_text))
    for key in ("er", "pr"):
        _receptor(key, results[key], out)
    if out.data.get("er", "unknown") == "unknown" and out.data.get("pr", "unknown") == "unknown" \
            and results["hr"]:
        _receptor("hr", results["hr"], out)
    _her2(results["her2"], out)
    if results["pdl1"]:
        _receptor("pdl1", results["pdl1"], out, biomarker=True)


def _newest(results: list[Result], key: str, out: Derived) -> Result | None:
    """The newest result; same-day disagreement is a conflict (None); older ones that
    disagree are noted."""
    if not results:
        return None
    ordered = sorted(results, key=lambda r: pad(r.date), reverse=True)
    top = ordered[0]
    same = [r for r in ordered if r.date == top.date and r.value != top.value]
    if same:
        out.note(key, "conflict: results of the same date disagree: " +
                 "; ".join(f"{r.how} ({r.value})" for r in [top, *same]) + f": {key} left unknown")
        return None
    for r in ordered[1:]:
        if r.value != top.value:
            out.note(key, f"conflict: an older result, {r.how} ({r.date or 'no date'}), says {r.value}; "
                     f"the newer {top.how} ({top.date or 'no date'}) says {top.value}, which is used")
    return top


def _receptor(key: str, results: list[Result], out: Derived, biomarker: bool = False) -> None:
    top = _newest(results, key, out)
    if top is None:
        if not biomarker and results:
            out.set(key, "unknown", "")
        return
    value = {"positive": "positive", "negative": "negative"}.get(top.value)
    if value is None:
        out.note(key, f"{top.how} is {top.value}: {key} left unknown")
        value = "unknown"
    if biomarker:
        out.data.setdefault("biomarkers", {})[key] = value
        out.sources.setdefault(f"biomarkers.{key}", []).append(top.how)
    else:
        out.set(key, value, top.how)


def _her2(results: list[Result], out: Derived) -> None:
    if not results:
        return
    by = {m: _newest([r for r in results if r.method == m], "her2", out)
          for m in ("ihc", "ish", "interpretation")}
    by["interpretation"] = by["interpretation"] or _newest(
        [r for r in results if r.method not in ("ihc", "ish", "interpretation")], "her2", out)
    ihc, ish, interp = by["ihc"], by["ish"], by["interpretation"]
    ultralow = any(r.value == "ultralow" for r in results)
    value, why = "unknown", ""
    used = [r for r in (ihc, ish, interp) if r is not None]
    if ihc is not None and ihc.value in ("0", "1+", "2+", "3+", "equivocal"):
        score = "2+" if ihc.value == "equivocal" else ihc.value
        if score == "3+":
            value, why = "positive", "IHC 3+ is HER2-positive"
        elif score == "2+":
            if ish is not None and ish.value in ("positive", "negative"):
                value = "positive" if ish.value == "positive" else "low"
                why = f"IHC 2+ with a {ish.value} ISH test is HER2-{'positive' if value == 'positive' else 'low'}"
            else:
                out.note("her2", f"{ihc.how}: IHC 2+ is equivocal until an ISH test decides, and the record "
                         "has no ISH result: her2 left unknown")
                value = "unknown"
        elif score == "1+":
            value, why = "low", "IHC 1+ is HER2-low"
        else:
            if ultralow:
                value, why = "ultralow", "IHC 0 with faint staining (ultralow) is written in the record"
            else:
                value, why = "negative", "IHC 0 is HER2-negative"
    elif ihc is not None and ihc.value in ("positive", "negative", "ultralow", "low"):
        value = ihc.value
        why = "the immune stain result"
        if ish is not None and ish.value in ("positive",) and value != "positive":
            value, why = "positive", "an amplified (positive) ISH test is HER2-positive"
    elif ish is not None and ish.value in ("positive", "negative"):
        value = ish.value
        why = "the ISH test"
        if value == "negative" and (interp is None or interp.value not in ("low", "ultralow")):
            out.note("her2", f"{ish.how}: a not-amplified ISH test with no IHC score is read as negative; "
                     "an IHC score of 1+ or 2+ would make it HER2-low: check the pathology report")
    if interp is not None:
        iv = interp.value
        if value == "unknown" and iv in ("positive", "negative", "low", "ultralow"):
            value, why = iv, "the overall interpretation"
            if ultralow and iv == "negative":
                value = "ultralow"
        elif value == "unknown" and iv == "equivocal":
            out.note("her2", f"{interp.how} is equivocal: her2 left unknown")
        elif value != "unknown" and (iv == "positive") != (value == "positive") and iv in ("positive", "negative"):
            out.note("her2", f"conflict: {interp.how} says {iv}, but " +
                     "; ".join(f"{r.how} ({r.value})" for r in used if r is not interp) +
                     f" give {value}: her2 left unknown")
            value, why = "unknown", ""
    out.set("her2", value, ("; ".join(r.how for r in used) + (f" ({why})" if why else "")) if value != "unknown" else "")


def _biomarkers(record: Record, out: Derived) -> None:
    table = C.table("genomics")
    found: dict[str, list[tuple[str, str, str, bool]]] = {b: [] for b in BIOMARKERS}  # result, how, source, text
    comp_codes = {v["loinc"]: k for k, v in table["components"].items()}
    for obs in record.of("Observation"):
        if not live(obs):
            continue
        comps = {}
        for comp in obs.get("component") or []:
            for sys, value, _ in C.codings(comp.get("code")):
                if sys == "loinc" and value in comp_codes:
                    comps[comp_codes[value]] = comp
        is_variant = obs_code(obs, table["variant_codes"]) is not None or "gene_studied" in comps
        ref = name(obs)
        if is_variant:
            gene = _gene(comps.get("gene_studied", {}).get("valueCodeableConcept"), table)
            if gene is None:
                continue
            biomarker, symbol = gene
            presence = None
            for sys, value, display in C.codings(obs.get("valueCodeableConcept")):
                row = C.table("markers")["answers"].get(sys or "", {}).get(value)
                if row:
                    presence = row["result"]
            signif = _lookup(comps.get("significance", {}).get("valueCodeableConcept"), table["significance"])
            source = _lookup(comps.get("source_class", {}).get("valueCodeableConcept"), table["source_class"])
            result = signif["result"] if signif else {"present": "present", "positive": "present",
                                                        "absent": "negative", "negative": "negative"}.get(presence or "")
            if result is None:
                out.note(biomarker, f"{ref} ({symbol}): the variant result "
                         f"({C.show_concept(obs.get('valueCodeableConcept'))}) cannot be read: an unmapped code")
                continue
            how = f"{ref} genetic variant in {symbol}" + (f", {signif['display']}" if signif else f", {presence}") + \
                (f", {source['display'].lower()}" if source else "")
            found[biomarker].append((result, how, source["source"] if source else "", False))
            continue
        text = C.words(obs.get("code"))
        low = text.lower()
        gene = next((b for sym, b in table["genes"]["symbols"].items()
                     if re.search(rf"\b{re.escape(sym.lower())}", low)), None)
        if gene is None or gene == "pdl1" or _marker_of(obs):
            continue
        value = obs.get("valueString") or C.words(obs.get("valueCodeableConcept"))
        answer = None
        for sys, code, display in C.codings(obs.get("valueCodeableConcept")):
            row = C.table("markers")["answers"].get(sys or "", {}).get(code)
            if row:
                answer = _presence(row["result"])
        read = answer or (read_text(str(value), gene) if value else None)
        if read not in ("positive", "negative"):
            if value:
                out.note(gene, f"{ref} (text '{text}'): the result '{value}' cannot be read; not used")
            continue
        source = "germline" if re.search(r"germline|hereditary|inherited|blood", low) else ""
        result = "positive" if read == "positive" else "negative"
        found[gene].append((result, f"{ref} text '{text}': '{value}'", source, True))
    for biomarker, items in found.items():
        if not items:
            continue
        for result, how, _, text in items:
            if text:
                out.note(biomarker, f"{how}: the test has no code in the table; read from its text")
        positives = [i for i in items if i[0] in ("positive", "present")]
        value, src = "unknown", ""
        if biomarker == "brca":
            germline = [i for i in positives if i[0] == "positive" and i[2] != "somatic"]
            if germline:
                value, src = "positive", germline[0][1]
                if not germline[0][2]:
                    out.note("brca", f"{germline[0][1]}: the record does not say germline or somatic; "
                             "read as positive")
            elif positives:
                out.note("brca", "; ".join(i[1] for i in positives) + ": a tumour-only (somatic) or "
                         "unclassified BRCA variant; PARP inhibitors need an inherited (germline) "
                         "pathogenic variant: brca left unknown")
            elif any(i[0] == "uncertain" for i in items):
                out.note("brca", "; ".join(i[1] for i in items if i[0] == "uncertain") +
                         ": a variant of uncertain significance: brca left unknown")
            elif all(i[0] == "negative" for i in items):
                value, src = "negative", items[0][1]
        else:
            if positives:
                value, src = "positive", positives[0][1]
            elif any(i[0] == "uncertain" for i in items):
                out.note(biomarker, "; ".join(i[1] for i in items if i[0] == "uncertain") +
                         f": uncertain significance: {biomarker} left unknown")
            elif all(i[0] == "negative" for i in items):
                value, src = "negative", items[0][1]
        current = out.data.get("biomarkers", {}).get(biomarker)
        if current and current != "unknown" and value != "unknown" and current != value:
            out.note(biomarker, f"conflict: {src} says {value}; "
                     f"{'; '.join(out.sources.get(f'biomarkers.{biomarker}', []))} says {current}: left unknown")
            value, src = "unknown", ""
        out.data.setdefault("biomarkers", {})[biomarker] = value
        if src:
            out.sources.setdefault(f"biomarkers.{biomarker}", []).append(src)


def _gene(concept: Any, table: Mapping[str, Any]) -> tuple[str, str] | None:
    for sys, value, display in C.codings(concept):
        if sys == "hgnc" or value.upper().startswith("HGNC:"):
            row = table["genes"]["hgnc"].get(C.hgnc(value))
            if row:
                return row["biomarker"], row["symbol"]
        for sym, biomarker in table["genes"]["symbols"].items():
            if display.strip().upper() == sym or value.strip().upper() == sym:
                return biomarker, sym
    return None


def _lookup(concept: Any, families: Mapping[str, Mapping[str, Any]]) -> dict[str, Any] | None:
    for sys, value, _ in C.codings(concept):
        row = families.get(sys or "", {}).get(value)
        if row:
            return row
    return None


def _procedures(record: Record, out: Derived) -> dict[str, Any]:
    table = C.table("procedures")
    surgery: dict[str, Any] = {"done": [], "planned": [], "radiotherapy": []}
    for proc in record.of("Procedure"):
        status = table["status"].get(proc.get("status", ""))
        if status is None:
            continue
        ref = name(proc)
        hit = obs_code(proc, {k: v for k, v in table["breast_surgery"].items() if isinstance(v, dict)})
        text = C.words(proc.get("code"))
        how, from_text = None, False
        if hit:
            how = hit[1]
        elif text and re.search(table["breast_surgery"]["text"], text.lower()) and \
                not re.search(table["breast_surgery"]["not_text"], text.lower()):
            how, from_text = f"text '{text}'", True
        if how:
            if from_text:
                out.note("phase", f"{ref}: breast surgery read from its {how} (no code in the table)")
            surgery[status].append((ref, how, when(proc)))
            continue
        rt = obs_code(proc, {k: v for k, v in table["radiotherapy"].items() if isinstance(v, dict)})
        if rt or (text and re.search(table["radiotherapy"]["text"], text.lower())):
            surgery["radiotherapy"].append((ref, rt[1] if rt else f"text '{text}'", status, when(proc)))
    done = sorted(surgery["done"], key=lambda s: pad(s[2]))
    surgery["date"] = done[0][2] if done else ""
    return surgery


def _medications(record: Record, out: Derived, drug_names: Mapping[str, Iterable[str]], stage: str,
                 metastatic_since: str, surgery: dict[str, Any]) -> None:
    table = C.table("medications")
    lookup = _name_lookup(drug_names, table)
    current: list[str] = []
    prior: dict[str, list[tuple[str, str]]] = {}   # drug -> [(start, end)]
    starts: list[tuple[str, str]] = []
    src_now: list[str] = []
    src_had: list[str] = []
    others = 0
    for res in record.of("MedicationStatement", "MedicationRequest", "MedicationAdministration"):
        ref = name(res)
        concept = res.get("medicationCodeableConcept")
        if concept is None and res.get("medicationReference"):
            med = record.resolve(res["medicationReference"])
            concept = med.get("code") if med else None
            if med is None:
                out.note("current_therapies", f"{ref}: its medicationReference "
                         f"({res['medicationReference'].get('reference')}) is not in the record; not used")
                continue
        drugs, how, flagged = _drugs_of(concept, table, lookup)
        cancer_related = "cancer-related" in profiles(res) or any(
            (record.resolve(r) or {}).get("resourceType") == "Condition" for r in res.get("reasonReference") or [])
        if not drugs:
            if cancer_related or flagged:
                out.note("current_therapies", f"{ref} ({C.show_concept(concept)}): an unmapped code, not a "
                         "medicine the booklet knows; not used")
            else:
                others += 1
            continue
        if flagged:
            out.note("current_therapies", f"{ref}: {how}")
        status = res.get("status", "")
        kind = table["status"].get(res["resourceType"], {}).get(status)
        if kind is None:
            out.note("current_therapies", f"{ref} ({', '.join(drugs)}) has status '{status or 'none'}': "
                     "neither current nor completed; not used", warn=status not in ("entered-in-error", "cancelled"))
            continue
        start, end = period(res)
        for drug in drugs:
            if kind == "current":
                if drug not in current:
                    current.append(drug)
                src_now.append(f"{ref} {drug} ({res['resourceType']} status {status})")
                if start:
                    starts.append((start, ref))
            else:
                prior.setdefault(drug, []).append((start, end))
                src_had.append(f"{ref} {drug} ({res['resourceType']} status {status}"
                               + (f", {start}{' to ' + end if end and end != start else ''}" if start else "") + ")")
    if others:
        out.note("current_therapies", f"{others} other medication record(s) name medicines that are not "
                 "cancer treatments in the booklet; not used", warn=False)
    if current:
        out.set("current_therapies", current, "; ".join(src_now))
        good = sorted(s for s in starts if re.fullmatch(r"\d{4}-\d\d-\d\d", s[0]) and "2000" <= s[0] <= "2100")
        if good:
            out.set("start_date", good[0][0], f"{good[0][1]} start (the earliest start of a current medicine)")
    if prior:
        items: list[Any] = []
        for drug, spans in prior.items():
            setting = _setting(drug, spans, stage, metastatic_since, surgery.get("date", ""), out)
            items.append({"drug": drug, "setting": setting} if setting else drug)
        out.set("prior_therapies", items, "; ".join(src_had))
    out.gnrh = [d for d in [*current, *prior] if d in table["gnrh_agonists"]]


def _setting(drug: str, spans: list[tuple[str, str]], stage: str, metastatic_since: str,
             surgery: str, out: Derived) -> str:
    """When a prior drug was given: metastatic, before-surgery, after-surgery, or '' (not known)."""
    starts = sorted(pad(s) for s, _ in spans if s)
    ends = sorted(pad(e or s) for s, e in spans if e or s)
    if not starts:
        if stage == "IV":
            out.note("prior_therapies", f"{drug}: the record gives no dates, so it counts as treatment "
                     "for stage IV (a line of treatment already behind): check it")
        return ""
    first, last = starts[0], ends[-1] if ends else starts[-1]
    if stage == "IV":
        if metastatic_since and first >= pad(metastatic_since):
            return "metastatic"
        if not metastatic_since:
            out.note("prior_therapies", f"{drug}: the record does not say when the cancer spread, so it "
                     "counts as treatment for stage IV: check it")
            return ""
    if surgery:
        if last <= pad(surgery):
            return "before-surgery"
        if first >= pad(surgery):
            return "after-surgery"
    if stage == "IV":
        out.note("prior_therapies", f"{drug} was given before the cancer spread ({metastatic_since}), but "
                 "the record has no breast surgery date to say whether before or after surgery; it "
                 "counts as treatment for stage IV: check it")
    return ""


def _name_lookup(drug_names: Mapping[str, Iterable[str]], table: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(lowercase name, drug id), the longest names first, for reading drug names in text."""
    pairs = {}
    for drug, names in drug_names.items():
        pairs[drug.replace("-", " ")] = drug
        pairs[drug] = drug
        for n in names:
            pairs[n.lower()] = drug
    for n, drug in table["names"].items():
        pairs[n.lower()] = drug
    return sorted(pairs.items(), key=lambda p: -len(p[0]))


def _drugs_of(concept: Any, table: Mapping[str, Any],
              lookup: list[tuple[str, str]]) -> tuple[list[str], str, bool]:
    """Booklet drug ids named by a medication concept: (drugs, how, read from text)."""
    by_code = {}
    for drug, row in table["drugs"].items():
        for sys in ("rxnorm", "atc"):
            for code in row.get(sys, []):
                by_code[(sys, code)] = drug
    found: list[str] = []
    for sys, value, display in C.codings(concept):
        drug = by_code.get((sys or "", value))
        if drug and drug not in found:
            found.append(drug)
    text = C.words(concept).lower()
    found = [_variant(d, text, table) for d in found]
    if found:
        return found, "", False
    if not text:
        return [], "", False
    hits: list[str] = []
    rest = f" {text} "
    for n, drug in lookup:
        pattern = rf"(?<![a-z0-9-]){re.escape(n)}(?![a-z0-9])"
        if re.search(pattern, rest):
            rest = re.sub(pattern, " ", rest)
            if drug not in hits:
                hits.append(_variant(drug, text, table))
    if hits:
        return hits, f"{C.show_concept(concept)}: the code is not in the table; read from its name as " \
            f"{', '.join(hits)}", True
    return [], "", bool(C.codings(concept))


def _variant(drug: str, text: str, table: Mapping[str, Any]) -> str:
    for row in table["variants"]:
        if row["drug"] == drug and re.search(row["pattern"], text):
            return row["becomes"]
    return drug


def _phase(out: Derived, stage: str, surgery: dict[str, Any]) -> None:
    if stage == "IV":
        return
    if surgery["done"]:
        ref, how, date = sorted(surgery["done"], key=lambda s: pad(s[2]))[0]
        out.set("phase", "after-surgery", f"{ref} breast surgery done ({how}, {date or 'no date'})")
        return
    if surgery["planned"] and out.data.get("current_therapies"):
        ref, how, _ = surgery["planned"][0]
        out.set("phase", "before-surgery", f"{ref} breast surgery planned ({how}, status preparation) "
                "with current treatment")
        return
    out.set("phase", "unknown", "")
    out.note("phase", "the record shows no breast surgery done or planned: phase left unknown", warn=False)


def _menopause(record: Record, out: Derived, as_of: dt.date) -> None:
    if out.data.get("sex") == "male":
        return
    table = C.table("procedures")
    said = []
    for res in record.of("Observation", "Condition"):
        if not live(res):
            continue
        text = " ".join([C.words(res.get("code")), C.words(res.get("valueCodeableConcept")),
                         str(res.get("valueString") or "")])
        row = C.matches(table["menopause_text"], text)
        if row:
            said.append((pad(when(res)), row["value"], f"{name(res)} '{' '.join(text.split())}'"))
    if said:
        said.sort(reverse=True)
        date, value, how = said[0]
        out.set("menopause", value, how)
        out.note("menopause", f"{how}: read from text", warn=True)
        for _, other, other_how in said[1:]:
            if other != value:
                out.note("menopause", f"conflict: an older record, {other_how}, says {other}; the newer "
                         f"one says {value}, which is used")
        return
    age, gnrh = out.age, out.gnrh
    if age is None:
        return
    if age >= table["menopause_age_post"]:
        if gnrh:
            out.note("menopause", f"conflict: age {age} ({out.age_source}) hints post-menopausal, but "
                     f"{', '.join(gnrh)} (ovarian suppression) is used only while the ovaries work: "
                     "menopause left unknown")
            return
        out.set("menopause", "post", f"a hint from age {age} on {as_of.isoformat()} "
                f"({out.age_source}; {table['menopause_age_post']} or over is post-menopausal), "
                "not a recorded status")
        out.note("menopause", f"post is a hint from age {age} only; the record gives no menopausal "
                 "status: check it")
