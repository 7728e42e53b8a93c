"""Stage 1: load a patient profile and normalise it.

One table (`FIELDS`) says, for each profile key, how a raw value becomes a normal one.
Every problem is collected, then reported at once: field, value, what is allowed.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from booklet.errors import ProfileError, in_language

STAGES = ("0", "I", "II", "III", "IV", "unknown")
TYPES = ("idc", "ilc", "dcis", "ibc", "rare", "unknown")
STATUS = ("positive", "negative", "unknown")
HER2 = ("positive", "low", "ultralow", "negative", "unknown")
MENOPAUSE = ("pre", "peri", "post", "unknown")
SEXES = ("female", "male")
SITES = ("bone", "brain", "liver", "lung", "lymph-nodes", "skin", "other", "unknown")
TRISTATE = ("true", "false", "unknown")
BIOMARKERS = ("brca", "pdl1", "pik3ca", "esr1")
PHASES = ("diagnosis", "before-surgery", "after-surgery", "follow-up", "unknown")
SETTINGS = ("before-surgery", "after-surgery", "metastatic")
LINES = ("first", "later", "none")
REASONS = ("trial", "off-label")
PROVINCES = ("AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT")
LANGUAGES = ("en", "fr")
CARE_TEAM = ("clinic", "oncologist", "nurse", "phone")
MAX_TEXT = 200
MAX_BYTES = 1_000_000

ALIASES: dict[str, dict[str, str]] = {
    "status": {"pos": "positive", "+": "positive", "neg": "negative", "-": "negative",
               "?": "unknown", "not known": "unknown", "don't know": "unknown"},
    "her2": {"pos": "positive", "+": "positive", "neg": "negative", "-": "negative",
             "her2-low": "low", "her2-ultralow": "ultralow", "ultra-low": "ultralow",
             "?": "unknown"},
    "type": {"ductal": "idc", "invasive ductal": "idc", "lobular": "ilc",
             "invasive lobular": "ilc", "inflammatory": "ibc", "i don't know": "unknown"},
    "menopause": {"premenopausal": "pre", "pre-menopausal": "pre",
                  "perimenopausal": "peri", "peri-menopausal": "peri",
                  "postmenopausal": "post", "post-menopausal": "post"},
    "sex": {"f": "female", "woman": "female", "m": "male", "man": "male"},
    "phase": {"new": "diagnosis", "newly diagnosed": "diagnosis", "neoadjuvant": "before-surgery",
              "adjuvant": "after-surgery", "before surgery": "before-surgery",
              "after surgery": "after-surgery", "follow up": "follow-up",
              "followup": "follow-up", "surveillance": "follow-up"},
    "setting": {"neoadjuvant": "before-surgery", "adjuvant": "after-surgery",
                "before surgery": "before-surgery", "after surgery": "after-surgery",
                "stage iv": "metastatic", "advanced": "metastatic"},
    "site": {"lymph nodes": "lymph-nodes", "nodes": "lymph-nodes", "bones": "bone",
             "lungs": "lung"},
}

ROMAN = {"0": "0", "1": "I", "2": "II", "3": "III", "4": "IV",
         "i": "I", "ii": "II", "iii": "III", "iv": "IV"}


@dataclass(frozen=True)
class Reading:
    """How one value in shorthand was read: `her2: '2+ ISH negative'` is read as low."""

    field: str
    given: str
    value: str
    note: str = ""
    warn: bool = False  # the reading sets aside part of what was written

    def __str__(self) -> str:
        return f"{self.field}: '{self.given}' is read as {self.value}" + (
            f" ({self.note})" if self.note else "")


@dataclass(frozen=True)
class Profile:
    """A normalised profile. Every clinical field has a value; unknown is a value."""

    stage: str = "unknown"
    type: str = "unknown"
    er: str = "unknown"
    pr: str = "unknown"
    hr: str = "unknown"
    her2: str = "unknown"
    menopause: str = "unknown"
    sex: str = "female"
    metastases: tuple[str, ...] = ()
    oligometastatic: str = "unknown"
    biomarkers: Mapping[str, str] = field(default_factory=lambda: {b: "unknown" for b in BIOMARKERS})
    prior_therapies: tuple[str, ...] = ()
    # setting of each prior drug given as {drug, setting}; a plain name is "metastatic" for
    # stage IV and unknown (absent) otherwise
    prior_settings: Mapping[str, str] = field(default_factory=dict)
    current_therapies: tuple[str, ...] = ()   # drug ids, regimens expanded
    regimens: tuple[str, ...] = ()            # regimen ids named in current_therapies
    current_groups: tuple[str, ...] = ()      # their groups (set by select from the library)
    prior_groups: tuple[str, ...] = ()        # groups of the prior therapies (as above)
    chosen: Mapping[str, str] = field(default_factory=dict)  # drug id -> trial | off-label
    phase: str = "unknown"
    start_date: dt.date | None = None
    province: str | None = None
    language: str = "en"
    name: str | None = None
    care_team: Mapping[str, str] = field(default_factory=dict)
    # where to send an email draft (--eml); never printed, logged or put in metadata
    email: str | None = None
    # how shorthand was read (`explain` shows each one)
    readings: tuple[Reading, ...] = ()

    def value(self, key: str) -> Any:
        """The value a content rule sees for `key` (biomarkers are top-level keys there)."""
        if key in BIOMARKERS:
            return self.biomarkers[key]
        if key == "prior":
            return self.prior_therapies
        if key == "current":
            return self.current_therapies
        if key == "setting":
            return self.settings
        if key == "line":
            return self.line
        if key == "province":
            return self.province or "unknown"
        return getattr(self, key)

    @property
    def settings(self) -> tuple[str, ...]:
        """Where in the course of care medicines are given now: stage IV is metastatic;
        stages 0-III are before or after surgery by phase (both while it is not known)."""
        if self.stage == "IV":
            return ("metastatic",)
        if self.phase == "before-surgery":
            return ("before-surgery",)
        if self.phase in ("after-surgery", "follow-up"):
            return ("after-surgery",)
        return ("before-surgery", "after-surgery")

    @property
    def metastatic_prior(self) -> tuple[str, ...]:
        """Prior drugs given for stage IV cancer (lines of treatment already behind)."""
        if self.stage != "IV":
            return ()
        return tuple(d for d in self.prior_therapies
                     if self.prior_settings.get(d, "metastatic") == "metastatic")

    @property
    def line(self) -> str:
        """Stage IV: 'first' until a metastatic treatment is behind the person, then 'later'."""
        if self.stage != "IV":
            return "none"
        behind = [d for d in self.metastatic_prior if d not in self.current_therapies]
        return "later" if behind else "first"

    @property
    def effective_phase(self) -> str:
        """The phase used for stages 0-III; stage IV has lines instead."""
        return "unknown" if self.stage == "IV" else self.phase

    def to_dict(self, with_name: bool = False) -> dict[str, Any]:
        data = asdict(self)
        data["metastases"] = list(self.metastases)
        data["prior_therapies"] = list(self.prior_therapies)
        data["prior_settings"] = dict(self.prior_settings)
        data["current_therapies"] = list(self.current_therapies)
        data["regimens"] = list(self.regimens)
        data["chosen"] = dict(self.chosen)
        data["start_date"] = self.start_date.isoformat() if self.start_date else None
        data["line"] = self.line
        data["settings"] = list(self.settings)
        data["biomarkers"] = dict(self.biomarkers)
        data["care_team"] = dict(self.care_team)
        data["readings"] = [asdict(r) for r in self.readings]
        if not with_name:
            data.pop("name")
            data.pop("email")
        return data

    @property
    def warnings(self) -> list[str]:
        """Readings that set aside something the person wrote (HER2 2+ without ISH)."""
        return [str(r) for r in self.readings if r.warn]


# ---------------------------------------------------------------- normalisers

class Invalid(ValueError):
    """A single field problem; the message is completed with the field name."""


@dataclass(frozen=True)
class Noted:
    """A normaliser's answer with a word on how it was read (shown by `explain`)."""

    value: Any
    note: str = ""
    warn: bool = False


def _text(raw: Any) -> str:
    if isinstance(raw, bool) or raw is None or isinstance(raw, (list, dict)):
        raise Invalid(f"{_show(raw)} is not a single value")
    return str(raw).strip()


def _choice(allowed: tuple[str, ...], alias: str | None = None) -> Callable[[Any], str]:
    def norm(raw: Any) -> str:
        text = _text(raw)
        key = text.lower()
        if alias and key in ALIASES[alias]:
            return ALIASES[alias][key]
        for option in allowed:
            if key == option.lower():
                return option
        raise Invalid(_not_one_of(text, allowed))
    return norm


SIGNS = {"+": "positive", "pos": "positive", "positive": "positive", "+ve": "positive",
         "-": "negative", "neg": "negative", "negative": "negative", "-ve": "negative"}
RECEPTORS = {"er": ("er",), "pr": ("pr", "pgr"), "hr": ("hr",)}


def _receptor(field_name: str) -> Callable[[Any], Any]:
    """ER, PR or HR status, also as a report writes it: `ER+`, `PR-`, `PgR positive`."""
    plain = _choice(STATUS, "status")
    mine = RECEPTORS[field_name]

    def norm(raw: Any) -> Any:
        text = _text(raw)
        match = re.fullmatch(r"(er|pgr|pr|hr)\s*[:=]?\s*(.+)", text.lower())
        if match and match.group(2) in SIGNS:
            if match.group(1) not in mine:
                other = "pr" if match.group(1) == "pgr" else match.group(1)
                raise Invalid(f"{_show(text)} is the {match.group(1).upper()} status, not "
                              f"{field_name.upper()} (did you mean {other}: {SIGNS[match.group(2)]}?)")
            return Noted(SIGNS[match.group(2)])
        return plain(text)
    return norm


ISH = r"(?:ish|fish|cish|sish|ddish|dish|silver ish|dual ish)"
ISH_RESULT = {"negative": "negative", "neg": "negative", "-": "negative",
              "not amplified": "negative", "non-amplified": "negative",
              "nonamplified": "negative", "non amplified": "negative",
              "positive": "positive", "pos": "positive", "+": "positive",
              "amplified": "positive"}
HER2_SCORE = {
    "0": Noted("negative", "IHC 0 is HER2-negative"),
    "1+": Noted("low", "IHC 1+ is HER2-low"),
    "3+": Noted("positive", "IHC 3+ is HER2-positive"),
    "2+ negative": Noted("low", "IHC 2+ with a negative ISH test is HER2-low"),
    "2+ positive": Noted("positive", "IHC 2+ with a positive ISH test is HER2-positive"),
    "2+": Noted("unknown", "IHC 2+ is equivocal until an ISH test decides, so no medicine "
                "that depends on HER2 is shown; write '2+ ISH negative' or '2+ ISH positive' "
                "when the result is in", warn=True),
}


def _her2(raw: Any) -> Any:
    """HER2 as a word (positive, low, ...) or as a pathology report gives it: the IHC score
    0, 1+, 2+ or 3+, with the ISH result for 2+ (`2+ ISH negative`, `2+/FISH+`)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    text = _text(raw)
    key = " ".join(re.sub(r"[,;:/()]", " ", text.lower()).split())
    if key in HER2:
        return key
    if key in ALIASES["her2"]:
        return ALIASES["her2"][key]
    named = re.fullmatch(r"her-?2(.*)", key)
    if named:
        rest = named.group(1).strip()
        if rest in SIGNS:
            return Noted(SIGNS[rest])
        rest = rest.lstrip(" -")
        if rest.replace("-", "").replace(" ", "") in ("low", "ultralow"):
            return Noted(rest.replace("-", "").replace(" ", ""))
        key = rest
    key = re.sub(r"^(?:status\s*)?(?:ihc\s*)?(?:score\s*)?", "", key).strip()
    key = "0" if key == "0+" else key
    if key in HER2_SCORE:
        return HER2_SCORE[key]
    match = re.fullmatch(rf"2\+\s*(?:ihc\s*)?(?:and\s*|with\s*)?{ISH}\s*(.+)", key)
    if match and match.group(1).strip() in ISH_RESULT:
        return HER2_SCORE["2+ " + ISH_RESULT[match.group(1).strip()]]
    if re.fullmatch(r"[123]", key):
        raise Invalid(f"{_show(text)} is not a HER2 result: write the IHC score as 0, 1+, 2+ "
                      "or 3+, or one of positive, low, ultralow, negative, unknown")
    try:
        return _choice(HER2, "her2")(key)
    except Invalid:
        raise Invalid(_not_one_of(text, HER2) + "; the IHC score (0, 1+, 2+ with the ISH "
                      "result, 3+) is accepted too") from None


def _stage(raw: Any) -> Any:
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    text = _text(raw)
    key = re.sub(r"^stage\s*", "", text.strip().lower())
    if key in ("unknown", "i don't know", "?"):
        return "unknown"
    match = re.fullmatch(r"(0|1|2|3|4|i{1,3}|iv)\s*([abc])?", key)
    if match and not (match.group(2) and match.group(1) in ("0", "4", "iv")):
        stage = ROMAN[match.group(1)]
        if match.group(2):
            sub = (match.group(1) + match.group(2)).upper()
            return Noted(stage, f"sub-stage {sub} is part of stage {stage}")
        return stage
    if re.match(r"[ycpra]{0,3}t(?:is|x|[0-4])|[ycp]{0,2}n(?:x|[0-3])|[cp]?m(?:x|[01])\b", key):
        hint = " (M1 means stage IV: write stage: IV)" if re.search(r"m1", key) else ""
        raise Invalid(f"{_show(text)} is a TNM description, not a stage group; write the stage "
                      "group (0, I, II, III or IV) from the full prognostic staging in the "
                      f"pathology report{hint}")
    raise Invalid(_not_one_of(text, STAGES) + " (sub-stages such as IIIA or 2B are accepted)")


def _tristate(raw: Any) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    text = _text(raw).lower()
    return {"yes": "true", "no": "false"}.get(text) or _choice(TRISTATE)(text)


def split_list(raw: Any) -> list[Any]:
    """A list, or a string with items separated by commas or semicolons ('bone, liver')."""
    if isinstance(raw, list):
        return raw
    if isinstance(raw, str) and re.search(r"[,;]", raw):
        return [part.strip() for part in re.split(r"[,;]", raw) if part.strip()]
    return [raw]


def _sites(raw: Any) -> tuple[str, ...]:
    items = split_list(raw)
    out: list[str] = []
    bad: list[str] = []
    one = _choice(SITES, "site")
    for item in items:
        try:
            site = one(item)
        except Invalid:
            bad.append(_show(item))
            continue
        if site not in out:
            out.append(site)
    if bad:
        raise Invalid(f"{', '.join(bad)} not among {', '.join(SITES)}")
    if "unknown" in out and len(out) > 1:
        out.remove("unknown")
    return tuple(out)


PROVINCE_NAMES = {
    "AB": ("alberta", "alta"),
    "BC": ("british columbia", "colombie britannique"),
    "MB": ("manitoba", "man"),
    "NB": ("new brunswick", "nouveau brunswick"),
    "NL": ("newfoundland and labrador", "terre neuve et labrador", "newfoundland",
           "terre neuve", "nfld", "nf"),
    "NS": ("nova scotia", "nouvelle ecosse"),
    "NT": ("northwest territories", "territoires du nord ouest", "nwt", "tno"),
    "NU": ("nunavut",),
    "ON": ("ontario", "ont"),
    "PE": ("prince edward island", "ile du prince edouard", "pei", "ipe"),
    "QC": ("quebec", "pq", "que"),
    "SK": ("saskatchewan", "sask"),
    "YT": ("yukon", "yukon territory", "territoire du yukon", "yk"),
}


def _fold_name(text: str) -> str:
    """Lowercase, accents and punctuation folded: 'Île-du-Prince-Édouard' -> 'ile du prince edouard'."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    plain = plain.lower().replace("&", " and ").replace("saint", "st")
    return " ".join(re.sub(r"[-.'’,]", " ", plain).split())


def _province(raw: Any) -> Any:
    text = _text(raw)
    if text.upper() in PROVINCES:
        return text.upper()
    key = _fold_name(text)
    for code, names in PROVINCE_NAMES.items():
        if key in names:
            return Noted(code)
    raise Invalid(_not_one_of(text, PROVINCES) + ", or the name of a province or territory "
                  "(English or French)")


def _language(raw: Any) -> str:
    text = _text(raw).lower()
    text = {"fr-ca": "fr", "french": "fr", "français": "fr", "francais": "fr",
            "en-ca": "en", "english": "en", "anglais": "en"}.get(text, text)
    return _choice(LANGUAGES)(text)


def clean_text(raw: Any, limit: int = MAX_TEXT) -> str:
    """Free text: a short line, no control or invisible formatting characters."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        raise Invalid(f"{_show(raw)} is not text")
    if len(raw) > limit:
        raise Invalid(f"text of {len(raw)} characters is too long (at most {limit})")
    bad = [c for c in raw if unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs", "Cn") and c not in "\t"]
    if bad:
        raise Invalid(f"contains a control or invisible character (U+{ord(bad[0]):04X})")
    symbols = [c for c in raw if unicodedata.category(c) == "So"]
    if symbols:
        raise Invalid(f"contains a symbol the booklet font cannot print (U+{ord(symbols[0]):04X})")
    return " ".join(raw.split())


def _name(raw: Any) -> str | None:
    return clean_text(raw) or None


EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")


def _email(raw: Any) -> str | None:
    """An address for the email draft (--eml). Private: messages never repeat it."""
    if not isinstance(raw, str):
        raise Invalid("is not an email address (write it like name@example.ca)")
    text = raw.strip()
    if not text:
        return None
    if len(text) > 254 or not EMAIL.fullmatch(text):
        raise Invalid("is not an email address (write it like name@example.ca)")
    return text


def _date(raw: Any) -> dt.date:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    text = _text(raw)
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{_show(text)} is not a date; write it as YYYY-MM-DD") from None
    if not dt.date(2000, 1, 1) <= day <= dt.date(2100, 1, 1):
        raise Invalid(f"{_show(text)} is not a plausible treatment date")
    return day


# ---------------------------------------------------------------- the table

FIELDS: dict[str, Callable[[Any], Any]] = {
    "stage": _stage,
    "type": _choice(TYPES, "type"),
    "er": _receptor("er"),
    "pr": _receptor("pr"),
    "hr": _receptor("hr"),
    "her2": _her2,
    "menopause": _choice(MENOPAUSE, "menopause"),
    "sex": _choice(SEXES, "sex"),
    "metastases": _sites,
    "oligometastatic": _tristate,
    "province": _province,
    "language": _language,
    "name": _name,
    "email": _email,
    "phase": _choice(PHASES, "phase"),
    "start_date": _date,
}
NESTED = ("biomarkers", "care_team", "prior_therapies", "current_therapies")
ALL_KEYS = tuple(FIELDS) + NESTED
ALLOWED_TEXT = {
    "stage": STAGES, "type": TYPES, "er": STATUS, "pr": STATUS, "hr": STATUS, "her2": HER2,
    "menopause": MENOPAUSE, "sex": SEXES, "metastases": SITES, "oligometastatic": TRISTATE,
    "province": PROVINCES, "language": LANGUAGES, "phase": PHASES,
}


def _show(raw: Any) -> str:
    text = repr(raw) if not isinstance(raw, str) else f"'{raw}'"
    return text if len(text) <= 40 else text[:37] + "...'"


def _not_one_of(text: str, allowed: Iterable[str]) -> str:
    allowed = list(allowed)
    msg = f"{_show(text)} is not one of {', '.join(allowed)}"
    close = difflib.get_close_matches(text.lower(), [a.lower() for a in allowed], n=1, cutoff=0.6)
    if close:
        msg += f" (did you mean '{close[0]}'?)"
    return msg


def _drug_lookup(known_drugs: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """Map ids, names and brand names (lowercase) to drug ids."""
    lookup: dict[str, str] = {}
    for drug_id, names in known_drugs.items():
        lookup[drug_id] = drug_id
        for name in names:
            lookup.setdefault(name.lower(), drug_id)
            lookup.setdefault(name.lower().replace(" ", "-"), drug_id)
    return lookup


SHAPE = "a profile is a set of fields like `stage: IV`"
QUIET = ("name", "email", "start_date")  # never echoed in a reading


def not_a_profile(data: Any) -> str | None:
    """Why `data` cannot be a profile (empty, a list, a single value), or None."""
    if isinstance(data, dict):
        return None
    if data is None or (isinstance(data, str) and not data.strip()):
        return f"the profile is empty; {SHAPE}"
    if isinstance(data, list):
        return f"{SHAPE}, not a list" + (" (remove the '-' before each field)"
                                          if data and all(isinstance(i, dict) for i in data) else "")
    hint = " (is a space missing after a colon?)" if isinstance(data, str) and ":" in data else ""
    return f"{SHAPE}, not a single value{hint}"


def normalise(data: Any, known_drugs: Mapping[str, Iterable[str]] | None = None) -> Profile:
    """Turn raw profile data into a Profile, or raise ProfileError listing every problem."""
    shape = not_a_profile(data)
    if shape:
        raise ProfileError(f"Profile: {shape}")
    problems: list[str] = []
    values: dict[str, Any] = {}
    readings: list[Reading] = []
    pending: list[tuple[str, list[str]]] = []  # regimen names, read once the sub-type is known

    def problem(key: str, message: str) -> None:
        problems.append(f"Profile field '{key}': {message}")

    def read(key: str, raw: Any, value: Any, note: str = "", warn: bool = False) -> None:
        given = f"[{', '.join(map(str, raw))}]" if isinstance(raw, list) else str(raw).strip()
        shown = f"[{', '.join(value)}]" if isinstance(value, tuple) else str(value)
        if note or given.lower() != shown.lower():
            readings.append(Reading(key, given, shown, note, warn))

    for key, raw in data.items():
        if not isinstance(key, str):
            problems.append(f"Profile: key {_show(key)} is not a field name")
            continue
        if key not in ALL_KEYS:
            close = difflib.get_close_matches(key, ALL_KEYS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f"; allowed: {', '.join(ALL_KEYS)}"
            problem(key, f"unknown field{hint}")
            continue
        if raw is None or raw == "":
            continue  # not given: the default applies
        if key in FIELDS:
            try:
                value = FIELDS[key](raw)
            except Invalid as exc:
                problem(key, str(exc))
                continue
            note, warn = "", False
            if isinstance(value, Noted):
                value, note, warn = value.value, value.note, value.warn
            values[key] = value
            if key not in QUIET and not isinstance(raw, bool):
                read(key, raw, value, note, warn)
    values["biomarkers"] = _biomarkers(data.get("biomarkers"), problem)
    values["care_team"] = _care_team(data.get("care_team"), problem)
    values["prior_therapies"], values["prior_settings"] = _prior(
        data.get("prior_therapies"), known_drugs, problem, read)
    (values["current_therapies"], values["regimens"],
     values["chosen"]) = _current(data.get("current_therapies"), known_drugs, problem, read,
                                  pending)

    _derive_and_check(values, data, problem)
    if pending:
        _resolve_regimens(values, pending, getattr(known_drugs, "regimens", {}), problem, read)
    groups = getattr(known_drugs, "groups", {})
    values["current_groups"] = tuple(dict.fromkeys(
        groups[d] for d in values.get("current_therapies", ()) if d in groups))
    values["prior_groups"] = tuple(dict.fromkeys(
        groups[d] for d in values.get("prior_therapies", ()) if d in groups))
    named = values.get("current_therapies") or pending
    if values.get("phase") == "diagnosis" and named:
        problem("phase", "'diagnosis' conflicts with current_therapies (nothing is decided at "
                "diagnosis); use before-surgery, after-surgery or follow-up, or leave out "
                "current_therapies")
    if values.get("start_date") and not named:
        problem("start_date", "is given without current_therapies (it is the first day of the "
                "current treatment)")
    if problems:
        raise ProfileError(in_language(problems, data.get("language")))
    return Profile(**values, readings=tuple(readings))


def _biomarkers(raw: Any, problem: Callable[[str, str], None]) -> dict[str, str]:
    out = {b: "unknown" for b in BIOMARKERS}
    if raw in (None, "", {}):
        return out
    if not isinstance(raw, dict):
        problem("biomarkers", f"{_show(raw)} is not a mapping like {{brca: unknown, pdl1: unknown}}")
        return out
    norm = _choice(STATUS, "status")
    for key, value in raw.items():
        if key not in BIOMARKERS:
            close = difflib.get_close_matches(str(key), BIOMARKERS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problem(f"biomarkers.{key}", f"unknown biomarker{hint}; allowed: {', '.join(BIOMARKERS)}")
            continue
        if value in (None, ""):
            continue
        try:
            out[key] = norm(value)
        except Invalid as exc:
            problem(f"biomarkers.{key}", str(exc))
    return out


def _care_team(raw: Any, problem: Callable[[str, str], None]) -> dict[str, str]:
    if raw in (None, "", {}):
        return {}
    if not isinstance(raw, dict):
        problem("care_team", f"{_show(raw)} is not a mapping like {{clinic: ..., phone: ...}}")
        return {}
    out = {}
    for key, value in raw.items():
        if key not in CARE_TEAM:
            problem(f"care_team.{key}", f"unknown field; allowed: {', '.join(CARE_TEAM)}")
            continue
        if value in (None, ""):
            continue
        try:
            text = clean_text(value)
        except Invalid as exc:
            problem(f"care_team.{key}", str(exc))
            continue
        if text:
            out[key] = text
    return out


def _drug_id(item: Any, field_name: str, lookup: Mapping[str, str] | None,
             problem: Callable[[str, str], None]) -> str | None:
    try:
        text = clean_text(item).lower()
    except Invalid as exc:
        problem(field_name, str(exc))
        return None
    if lookup is None:
        return text
    if text not in lookup:
        close = difflib.get_close_matches(text, list(lookup), n=1, cutoff=0.75)
        hint = f" (did you mean '{lookup[close[0]]}'?)" if close else ""
        problem(field_name, f"{_show(text)} is not a known drug id{hint}; "
                "see `booklet content list drugs`")
        return None
    return lookup[text]


def _entries(raw: Any, whole: Callable[[str], bool] = lambda text: False) -> list[Any]:
    """The items of a list field: a list, or a string of items separated by commas or
    semicolons (unless the whole string is itself a name, as `whole` says)."""
    if raw in (None, "", []):
        return []
    if isinstance(raw, str) and not whole(raw):
        return split_list(raw)
    return raw if isinstance(raw, list) else [raw]


Read = Callable[..., None]


def _prior(raw: Any, known: Mapping[str, Iterable[str]] | None,
           problem: Callable[[str, str], None], read: Read = lambda *a, **k: None
           ) -> tuple[tuple[str, ...], dict[str, str]]:
    """Plain names, or {drug: NAME, setting: before-surgery | after-surgery | metastatic}."""
    lookup = _drug_lookup(known) if known is not None else None
    out: list[str] = []
    settings: dict[str, str] = {}
    for n, item in enumerate(_entries(raw)):
        setting = None
        if isinstance(item, dict):
            where = f"prior_therapies[{n + 1}]"
            extra = sorted(set(map(str, item)) - {"drug", "setting"})
            if extra:
                problem(where, f"unknown key {_show(extra[0])}; allowed: drug, setting")
                continue
            if item.get("setting") not in (None, ""):
                try:
                    setting = _choice(SETTINGS, "setting")(item["setting"])
                except Invalid as exc:
                    problem(f"{where}.setting", str(exc))
                    continue
            item = item.get("drug")
            if item in (None, ""):
                problem(where, "names no drug; write {drug: NAME, setting: after-surgery}")
                continue
        drug = _drug_id(item, "prior_therapies", lookup, problem)
        if drug is None:
            continue
        read("prior_therapies", item, drug)
        if drug not in out:
            out.append(drug)
        if setting:
            settings[drug] = setting
    return tuple(out), settings


def _resolve_regimens(values: dict[str, Any], pending: list[tuple[str, list[str]]],
                      regimens: Mapping[str, Mapping[str, Any]],
                      problem: Callable[[str, str], None], read: Read) -> None:
    """A regimen name or code, read against the stage and sub-type: a code that fits one
    regimen for this profile names it; one that fits several is an error listing them; a
    regimen for another stage or sub-type is an error naming its rule."""
    from booklet.rules import match

    trial = Profile(**{k: v for k, v in values.items() if k not in ("current_therapies",)})
    drugs = list(values.get("current_therapies", ()))
    regs = list(values.get("regimens", ()))
    for text, hits in pending:
        fitting = [r for r in hits if match(regimens[r].get("applies", {}), trial).ok]
        if len(fitting) != 1:
            shown = fitting or hits
            names = "; ".join(f"{r} ({regimens[r].get('title', r)})" for r in shown)
            if len(hits) == 1:
                rule = ", ".join(f"{k} {'/'.join(v)}"
                                 for k, v in regimens[hits[0]].get("applies", {}).items())
                problem("current_therapies", f"{_show(text)} is the regimen {hits[0]}, used for "
                        f"{rule}; it does not fit this profile")
            else:
                problem("current_therapies", f"{_show(text)} can mean more than one regimen"
                        f"{' for this profile' if fitting else ''}: {names}. Write the regimen id")
            continue
        rid = fitting[0]
        if rid not in regs:
            regs.append(rid)
        for drug in regimens[rid].get("drugs", ()):
            if drug not in drugs:
                drugs.append(drug)
        read("current_therapies", text, ", ".join(regimens[rid].get("drugs", ())),
             f"the regimen {rid}" + (f" (the one of {len(hits)} that fits this profile)"
                                     if len(hits) > 1 else ""))
    values["current_therapies"] = tuple(drugs)
    values["regimens"] = tuple(regs)


def _regimen_lookup(regimens: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """Map regimen ids, names and codes (lowercase, spaces and dashes folded) to regimen ids.
    A code that names more than one regimen maps to all of them: it is ambiguous."""
    lookup: dict[str, list[str]] = {}
    for rid, reg in regimens.items():
        for name in (rid, *reg.get("names", ())):
            key = _fold(name)
            ids = lookup.setdefault(key, [])
            if rid not in ids:
                ids.append(rid)
    return lookup


def _fold(text: str) -> str:
    return re.sub(r"[\s_]+", " ", text.strip().lower()).replace(" + ", "+").replace(" ", "-")


def _current(raw: Any, known: Mapping[str, Iterable[str]] | None,
             problem: Callable[[str, str], None], read: Read = lambda *a, **k: None,
             pending: list[tuple[str, list[str]]] | None = None,
             ) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, str]]:
    """Drug ids, brand names, regimen ids or codes, or {drug: NAME, reason: trial | off-label}."""
    lookup = _drug_lookup(known) if known is not None else None
    regimens: Mapping[str, Mapping[str, Any]] = getattr(known, "regimens", {}) or {}
    reg_lookup = _regimen_lookup(regimens)
    drugs: list[str] = []
    regs: list[str] = []
    chosen: dict[str, str] = {}
    pending = [] if pending is None else pending

    def whole(text: str) -> bool:  # a regimen title or drug name that holds a comma
        return _fold(text) in reg_lookup or (lookup is not None and text.strip().lower() in lookup)

    for n, item in enumerate(_entries(raw, whole)):
        if isinstance(item, dict):
            where = f"current_therapies[{n + 1}]"
            extra = sorted(set(map(str, item)) - {"drug", "reason"})
            if extra:
                problem(where, f"unknown key {_show(extra[0])}; allowed: drug, reason")
                continue
            try:
                reason = _choice(REASONS)(item.get("reason", ""))
            except Invalid as exc:
                problem(f"{where}.reason", f"{exc} (write trial or off-label when the team "
                        "chose a medicine outside the usual rules)")
                continue
            drug = _drug_id(item.get("drug", ""), f"{where}.drug", lookup, problem)
            if drug is None:
                continue
            chosen[drug] = reason
            if drug not in drugs:
                drugs.append(drug)
            continue
        try:
            text = clean_text(item)
        except Invalid as exc:
            problem("current_therapies", str(exc))
            continue
        hits = reg_lookup.get(_fold(text), [])
        if hits:
            pending.append((text, hits))  # resolved once the stage and sub-type are known
            continue
        if lookup is not None and text.lower() not in lookup:
            names = list(lookup) + list(reg_lookup)
            close = difflib.get_close_matches(text.lower(), names, n=1, cutoff=0.75)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problem("current_therapies", f"{_show(text)} is not a known drug or regimen{hint}; "
                    "see `booklet content list drugs` and `booklet content list regimens`")
            continue
        drug = lookup[text.lower()] if lookup is not None else text.lower()
        read("current_therapies", text, drug)
        if drug not in drugs:
            drugs.append(drug)
    return tuple(drugs), tuple(regs), chosen


def _derive_and_check(values: dict[str, Any], raw: Mapping[str, Any],
                      problem: Callable[[str, str], None]) -> None:
    """Derive HR from ER/PR and reject contradictory profiles."""
    er, pr = values.get("er", "unknown"), values.get("pr", "unknown")
    derived = ("positive" if "positive" in (er, pr)
               else "negative" if er == pr == "negative" else "unknown")
    given_hr = values.get("hr")
    if given_hr and given_hr != "unknown" and derived != "unknown" and given_hr != derived:
        problem("hr", f"'{given_hr}' conflicts with er: {er}, pr: {pr} (which give hr: {derived})")
    if given_hr and given_hr != "unknown" and derived == "unknown":
        values["hr"] = given_hr  # the shorthand, when ER/PR are not known
    else:
        values["hr"] = derived

    stage = values.get("stage", "unknown")
    ctype = values.get("type", "unknown")
    sites = values.get("metastases")
    if ctype == "dcis" and stage not in ("0", "unknown"):
        problem("stage", f"'{stage}' conflicts with type: dcis (DCIS is stage 0)")
    if stage == "0" and ctype not in ("dcis", "unknown"):
        problem("type", f"'{ctype}' conflicts with stage: 0 (stage 0 is DCIS)")
    if sites and stage in ("0", "I", "II", "III") and sites != ("unknown",):
        problem("metastases", f"{list(sites)} conflicts with stage: {stage} "
                "(spread to other organs is stage IV)")
    if values.get("oligometastatic") == "true" and stage in ("0", "I", "II", "III"):
        problem("oligometastatic", f"'true' conflicts with stage: {stage} (stage IV only)")
    if values.get("sex") == "male" and values.get("menopause", "unknown") != "unknown":
        problem("menopause", f"'{values['menopause']}' is given for sex: male "
                "(menopause applies to women only; leave it out or use unknown)")
    if values.get("sex") == "male":
        values["menopause"] = "unknown"
    early = ("before-surgery", "after-surgery")
    for drug, setting in values.get("prior_settings", {}).items():
        if setting == "metastatic" and stage in ("0", "I", "II", "III"):
            problem("prior_therapies", f"{drug} is given for setting metastatic, which conflicts "
                    f"with stage: {stage}; use {' or '.join(early)}")
    if stage == "IV" and not sites:
        values["metastases"] = ("unknown",)
    if stage != "IV" and not sites:
        values["metastases"] = ()
    if stage == "0" and ctype == "unknown":
        values["type"] = "dcis"
    if ctype == "dcis" and stage == "unknown":
        values["stage"] = "0"  # DCIS is stage 0 by definition


# ---------------------------------------------------------------- loading

def parse_text(text: str, source: str) -> Any:
    """Parse profile text: `.json` files as JSON, everything else as YAML (text that starts
    with `{` from standard input or an unnamed source is tried as JSON first). Safe loading
    only; a key given twice is an error naming its lines."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ProfileError(f"{source}: file is larger than {MAX_BYTES // 1000} KB; a profile is a few lines")
    if "\x00" in text:
        raise ProfileError(f"{source}: contains a NUL byte; is it a text file?")
    if not text.strip():
        return None  # normalise says the profile is empty
    try:
        if source.lower().endswith(".json"):
            return parse_json(text, source)
        if not Path(source).suffix and text.lstrip().startswith(("{", "[")):
            try:
                return parse_json(text, source)
            except ProfileError:
                pass  # a YAML flow mapping such as {stage: IV}
        return _safe_yaml(text, source)
    except RecursionError:
        raise ProfileError(f"{source}: the profile is nested too deeply") from None


def _twice(where: str, lines: list[int]) -> str:
    lines = sorted(set(lines))
    on = (f", on lines {', '.join(map(str, lines[:-1]))} and {lines[-1]}" if len(lines) > 1
          else f", on line {lines[0]}" if lines else "")
    return f"Profile field '{where}': given more than once{on}; keep one"


def parse_json(text: str, source: str) -> Any:
    """JSON with JSON's own rules and messages (no trailing commas, no comments)."""
    twice: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in items:
            if key in seen:
                twice.append(key)
            seen[key] = value
        return seen

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        hint = ""
        before = text[:exc.pos].rstrip()
        if before.endswith(",") and text[exc.pos:exc.pos + 1] in ("}", "]"):
            hint = " (JSON allows no comma before a closing } or ])"
        raise ProfileError(f"{source}: not valid JSON at line {exc.lineno}, column {exc.colno}: "
                           f"{exc.msg}{hint}") from None
    if twice:
        lines = _json_key_lines(text)
        found = sorted((min(at), path) for path, at in lines.items() if len(at) > 1)
        raise ProfileError([f"{source}: " + _twice(path, lines[path]) for _, path in found]
                           or [f"{source}: " + _twice(k, []) for k in twice])
    return data


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|\n')


def _json_key_lines(text: str) -> dict[str, list[int]]:
    """For valid JSON: each key's dotted path -> the lines it is written on."""
    out: dict[str, list[int]] = {}
    stack: list[list[Any]] = []  # [kind, key or index]
    line, last = 1, None
    for tok in _TOKEN.finditer(text):
        t = tok.group()
        if t == "\n":
            line += 1
            continue
        if t in "{[":
            if stack and stack[-1][0] == "[" and last in ("[", ","):
                stack[-1][1] += 1
            stack.append([t, None if t == "{" else -1])
        elif t in "}]":
            stack.pop()
        elif t == ":" and stack and stack[-1][0] == "{":
            pass
        elif t.startswith('"') and stack and stack[-1][0] == "{" and last in ("{", ","):
            stack[-1][1] = json.loads(t)
            path = _path(stack)
            out.setdefault(path, []).append(line)
        elif stack and stack[-1][0] == "[" and last in ("[", ",") and t != ",":
            stack[-1][1] += 1
        last = t if t in "{[,:" else "value"
    return out


def _path(stack: list[list[Any]]) -> str:
    parts = ""
    for kind, key in stack:
        if kind == "{":
            parts += ("." if parts else "") + str(key)
        else:
            parts += f"[{key + 1}]"
    return parts


class _NoAliasLoader:  # built lazily so that importing this module stays cheap
    cls: Any = None


def _safe_yaml(text: str, source: str = "profile") -> Any:
    """yaml.safe_load without anchors/aliases (no recursive or exponential documents), and
    with an error for a key given twice (YAML keeps the last one without a word)."""
    import yaml

    if _NoAliasLoader.cls is None:
        class Loader(yaml.SafeLoader):
            """Safe loading, YAML 1.2 booleans (so `province: ON` stays 'ON'), no aliases."""

            def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
                if self.check_event(yaml.AliasEvent):
                    event = self.peek_event()
                    raise yaml.constructor.ConstructorError(
                        None, None, "YAML aliases (*name) are not allowed in a profile",
                        event.start_mark)
                return super().compose_node(parent, index)
        Loader.yaml_implicit_resolvers = {
            key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
            for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
        Loader.add_implicit_resolver(
            "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
            list("tTfF"))
        _NoAliasLoader.cls = Loader
    loader = None
    try:
        loader = _NoAliasLoader.cls(text)
        node = loader.get_single_node()
        if node is None:
            return None
        twice = _yaml_twice(node, "")
        if twice:
            raise ProfileError([f"{source}: {t}" for _, t in sorted(twice)])
        return loader.construct_document(node)
    except yaml.reader.ReaderError as exc:
        raise ProfileError(f"{source}: contains a control character (U+{exc.character:04X}) "
                           f"at character {exc.position + 1}; is it a text file?") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = getattr(exc, "problem", None) or "not valid YAML or JSON"
        raise ProfileError(f"{source}: cannot read the profile{where}: {what}") from None
    finally:
        if loader is not None:
            loader.dispose()


def _yaml_twice(node: Any, path: str) -> list[tuple[int, str]]:
    """Keys given more than once in any mapping under `node`: (first line, message)."""
    import yaml

    out: list[tuple[int, str]] = []
    if isinstance(node, yaml.MappingNode):
        lines: dict[str, list[int]] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                name = f"{path}.{key.value}" if path else key.value
                lines.setdefault(name, []).append(key.start_mark.line + 1)
                out += _yaml_twice(value, name)
        out += [(found[0], _twice(name, found)) for name, found in lines.items() if len(found) > 1]
    elif isinstance(node, yaml.SequenceNode):
        for n, item in enumerate(node.value, 1):
            out += _yaml_twice(item, f"{path}[{n}]")
    return out


def read_source(path: str) -> tuple[str, str]:
    """Read profile text from a file path or '-' (stdin); return (text, display name)."""
    import sys

    if path == "-":
        return sys.stdin.read(), "<stdin>"
    p = Path(path)
    try:
        if p.stat().st_size > MAX_BYTES:
            raise ProfileError(f"{path}: file is larger than {MAX_BYTES // 1000} KB; a profile is a few lines")
        return p.read_text(encoding="utf-8"), path
    except FileNotFoundError:
        raise ProfileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ProfileError(f"{path}: is a folder, not a profile file") from None
    except UnicodeDecodeError:
        raise ProfileError(f"{path}: is not UTF-8 text") from None
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read ({exc.strerror})") from None


def load(path: str, known_drugs: Mapping[str, Iterable[str]] | None = None) -> Profile:
    text, source = read_source(path)
    data = parse_text(text, source)
    try:
        return normalise(data, known_drugs)
    except ProfileError as exc:
        raise ProfileError([f"{source}: {p}" for p in exc.problems]) from None
