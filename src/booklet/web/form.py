"""The nurse's form: its questions, and the way a posted form becomes profile data.

Every field is named as the profile key it fills (`stage`, `her2`, `biomarkers.brca`,
`care_team.phone`, `current_therapies`), so a posted form and a profile file mean the same
thing: both go through `profile.normalise`. Choices that change the print but not the
profile (paper, large print, imposition, encryption) are options, kept apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from booklet import profile as P

UNKNOWN = ("unknown", "I don't know")


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    hint: str = ""


@dataclass(frozen=True)
class Question:
    """One profile field as the form asks it."""

    key: str                     # the profile key (dotted for nested ones)
    label: str                   # the question, in plain words
    kind: str                    # radio | checkboxes | text | date | select
    choices: tuple[Choice, ...] = ()
    hint: str = ""
    default: str = ""
    autocomplete: str = "off"

    @property
    def id(self) -> str:
        return "f-" + re.sub(r"[^a-z0-9]+", "-", self.key.lower()).strip("-")


@dataclass(frozen=True)
class Group:
    """A fieldset of questions."""

    id: str
    legend: str
    questions: tuple[Question, ...]
    hint: str = ""


def _c(*pairs: tuple[str, str] | tuple[str, str, str]) -> tuple[Choice, ...]:
    return tuple(Choice(*p) for p in pairs)


STATUS = _c(("positive", "Positive"), ("negative", "Negative"), UNKNOWN)

GROUPS: tuple[Group, ...] = (
    Group("person", "The person", (
        Question("name", "First name, for the cover (optional)", "text",
                 hint="Printed on the cover only. Never in the file name or the PDF's details.",
                 autocomplete="off"),
        Question("sex", "Sex", "radio", _c(("female", "Female"), ("male", "Male")),
                 hint="The booklet has no 'I don't know' here: it changes which medicines fit.",
                 default="female"),
        Question("menopause", "Menopause", "radio",
                 _c(("pre", "Before menopause"), ("peri", "Around menopause (periods changing)"),
                    ("post", "After menopause"), UNKNOWN),
                 hint="Leave 'I don't know' for a man.", default="unknown"),
        Question("province", "Province or territory (optional)", "select",
                 (Choice("", "I don't know, or leave it out"),
                  *(Choice(code, name) for code, name in (
                      ("AB", "Alberta"), ("BC", "British Columbia"), ("MB", "Manitoba"),
                      ("NB", "New Brunswick"), ("NL", "Newfoundland and Labrador"),
                      ("NS", "Nova Scotia"), ("NT", "Northwest Territories"), ("NU", "Nunavut"),
                      ("ON", "Ontario"), ("PE", "Prince Edward Island"), ("QC", "Quebec"),
                      ("SK", "Saskatchewan"), ("YT", "Yukon"))))),
    )),
    Group("cancer", "The cancer", (
        Question("stage", "Stage", "radio",
                 _c(("0", "Stage 0 (DCIS)"), ("I", "Stage I"), ("II", "Stage II"),
                    ("III", "Stage III"), ("IV", "Stage IV (spread to other organs)"), UNKNOWN),
                 hint="Sub-stages (IIB, IIIA) are their stage.", default="unknown"),
        Question("type", "Type", "radio",
                 _c(("idc", "Invasive ductal"), ("ilc", "Invasive lobular"),
                    ("dcis", "DCIS (ductal carcinoma in situ)"), ("ibc", "Inflammatory"),
                    ("rare", "A rare type"), UNKNOWN), default="unknown"),
        Question("er", "Estrogen receptor (ER)", "radio", STATUS, default="unknown"),
        Question("pr", "Progesterone receptor (PR)", "radio", STATUS, default="unknown"),
        Question("hr", "Hormone receptor (HR), only when ER and PR are not known", "radio", STATUS,
                 hint="When ER or PR is given, HR follows from them.", default="unknown"),
        Question("her2", "HER2", "radio",
                 _c(("positive", "Positive", "IHC 3+, or 2+ with a positive ISH test"),
                    ("low", "Low", "IHC 1+, or 2+ with a negative ISH test"),
                    ("ultralow", "Ultralow", "IHC 0 with faint staining"),
                    ("negative", "Negative", "IHC 0"),
                    ("unknown", "I don't know", "also IHC 2+ before the ISH result")),
                 default="unknown"),
    )),
    Group("spread", "Stage IV only: where the cancer has spread", (
        Question("metastases", "Places the cancer has spread to (tick all that apply)",
                 "checkboxes",
                 _c(("bone", "Bone"), ("brain", "Brain"), ("liver", "Liver"), ("lung", "Lung"),
                    ("lymph-nodes", "Lymph nodes far from the breast"), ("skin", "Skin"),
                    ("other", "Somewhere else"), UNKNOWN),
                 hint="Leave all empty for stages 0 to III."),
        Question("oligometastatic", "Only a few spots of cancer (oligometastatic)", "radio",
                 _c(("true", "Yes"), ("false", "No"), UNKNOWN), default="unknown"),
    )),
    Group("biomarkers", "Other test results", (
        Question("biomarkers.brca", "BRCA gene change", "radio", STATUS, default="unknown"),
        Question("biomarkers.pdl1", "PD-L1", "radio", STATUS, default="unknown"),
        Question("biomarkers.pik3ca", "PIK3CA gene change", "radio", STATUS, default="unknown"),
        Question("biomarkers.esr1", "ESR1 gene change", "radio", STATUS, default="unknown"),
    )),
    Group("care", "Where the person is in their care", (
        Question("phase", "Where they are now (stages 0 to III)", "radio",
                 _c(("diagnosis", "Just diagnosed: nothing decided yet"),
                    ("before-surgery", "Treatment before surgery"),
                    ("after-surgery", "Treatment after surgery"),
                    ("follow-up", "Follow-up: active treatment done"), UNKNOWN),
                 hint="Stage IV does not use this: the medicines say where they are.",
                 default="unknown"),
        Question("start_date", "First day of the current treatment (optional)", "date",
                 hint="Only with a current treatment. Written as YYYY-MM-DD."),
    )),
)

TEAM = Group("team", "My care team page (optional)", (
    Question("care_team.clinic", "Clinic", "text", autocomplete="organization"),
    Question("care_team.oncologist", "Oncologist", "text"),
    Question("care_team.nurse", "Nurse", "text"),
    Question("care_team.phone", "Phone", "text", autocomplete="tel"),
))

LISTS = ("metastases", "current_therapies", "prior_therapies")
SETTING = "prior_setting."  # prior_setting.DRUG: when that prior drug was given (the form's
                            # way of writing {drug: DRUG, setting: ...} in prior_therapies)
SETTINGS = (Choice("", "Not said (for stage IV: counted as stage IV treatment)"),
            Choice("before-surgery", "Before surgery"), Choice("after-surgery", "After surgery"),
            Choice("metastatic", "For stage IV cancer"))
OPTION_KEYS = ("paper", "large_print", "imposition", "encrypt", "password", "all_medicines",
               "preview", "deliver")
MAX_FIELDS = 400


@dataclass(frozen=True)
class Medicine:
    value: str       # what the form posts: a drug id or a regimen id
    label: str
    names: str       # brand names and codes, for the search box
    group: str


def therapy_choices(lib: Any) -> tuple[list[Medicine], list[tuple[str, list[Medicine]]]]:
    """Regimens, then drugs by group, as the form lists them (ids, the same lists as
    `booklet content list regimens` and `booklet content list drugs`)."""
    regimens = [Medicine(r.id, r.title, ", ".join(r.names), "regimen")
                for r in sorted(lib.regimens.values(), key=lambda r: r.title.lower())]
    groups = []
    for group in lib.groups.values():
        drugs = [Medicine(d.id, d.name, ", ".join(lib.drug_names.get(d.id, [])[1:]), group.id)
                 for d in sorted(lib.drugs.values(), key=lambda d: d.name.lower())
                 if d.group == group.id]
        if drugs:
            groups.append((group.title, drugs))
    return regimens, groups


@dataclass
class Posted:
    """A posted form, split into the profile data and the print options."""

    data: dict[str, Any]
    options: dict[str, str]
    values: dict[str, list[str]] = field(default_factory=dict)  # to fill the form again


def split(items: Iterable[tuple[str, str]]) -> Posted:
    """Form pairs (key, value) to profile data: one value per key, lists for the list
    fields, dotted keys nested (`biomarkers.brca`), empty values left out (not given), keys
    that are not profile keys kept so that `normalise` names them as it would in a file."""
    values: dict[str, list[str]] = {}
    for key, value in items:
        if not isinstance(value, str):
            continue  # a file part: only the upload routes read those
        values.setdefault(key, []).append(value)
    options = {k: v[-1] for k, v in values.items() if k in OPTION_KEYS}
    data: dict[str, Any] = {}
    for key, given in values.items():
        if key in OPTION_KEYS or key == "token" or key.startswith(SETTING):
            continue
        kept = [v.strip() for v in given if v.strip()]
        if not kept:
            continue
        value: Any = kept if key in LISTS else kept[-1]
        target = data
        parts = key.split(".")
        for part in parts[:-1]:
            nxt = target.setdefault(part, {})
            if not isinstance(nxt, dict):
                break
            target = nxt
        else:
            target[parts[-1]] = value
    prior = data.get("prior_therapies")
    if isinstance(prior, list):
        data["prior_therapies"] = [
            {"drug": d, "setting": values[SETTING + d][-1]}
            if values.get(SETTING + d, [""])[-1].strip() else d for d in prior]
    return Posted(data, options, values)


FIELD = re.compile(r"(?:Profile )?field '([^']+)'")


def field_of(problem: str) -> str:
    """The form field a ProfileError message is about: `Profile field 'current_therapies[2]
    .drug': ...` is about `current_therapies`; a message naming no field is about the form."""
    match = FIELD.search(problem)
    if not match:
        return ""
    key = re.sub(r"\[\d+\].*$", "", match.group(1))
    return key


def errors_by_field(problems: Iterable[str], known: Iterable[str]) -> dict[str, list[str]]:
    """Messages keyed by the field they name ('' for the form as a whole)."""
    known = set(known)
    out: dict[str, list[str]] = {}
    for problem in problems:
        key = field_of(problem)
        if key not in known:
            key = key.split(".")[0] if key.split(".")[0] in known else ""
        out.setdefault(key, []).append(problem)
    return out


def all_keys() -> list[str]:
    keys = [q.key for g in (*GROUPS, TEAM) for q in g.questions]
    return keys + ["current_therapies", "prior_therapies", "password", "upload"]


def questions() -> dict[str, Question]:
    return {q.key: q for g in (*GROUPS, TEAM) for q in g.questions}


def profile_from_values(data: Mapping[str, Any]) -> dict[str, list[str]]:
    """Form values from profile data (a FHIR import fills the form this way)."""
    out: dict[str, list[str]] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            for sub, v in value.items():
                if v not in (None, ""):
                    out[f"{key}.{sub}"] = [str(v)]
        elif isinstance(value, (list, tuple)):
            out[key] = []
            for v in value:
                if isinstance(v, dict):
                    out[key].append(str(v.get("drug", "")))
                    if key == "prior_therapies" and v.get("setting"):
                        out[SETTING + str(v.get("drug", ""))] = [str(v["setting"])]
                else:
                    out[key].append(str(v))
        elif value not in (None, ""):
            out[key] = [str(value)]
    return out


ALLOWED_KEYS = P.ALL_KEYS
