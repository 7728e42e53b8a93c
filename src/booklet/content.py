"""Stage 0: load the content library (steps, drugs, standards, questions, glossary, sources).

Content is data: YAML files, or Markdown with YAML front matter. Schemas are pydantic
models that forbid unknown keys; `load_library` gathers every problem before raising.
`check_library` adds the editorial rules of `booklet content check`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from booklet import assets
from booklet.errors import ContentError
from booklet.profile import (BIOMARKERS, HER2, LINES, MENOPAUSE, PHASES, PROVINCES, SETTINGS,
                             SEXES, SITES, STAGES, STATUS, TRISTATE, TYPES)

RULE_VALUES: dict[str, tuple[str, ...] | None] = {
    "stage": STAGES, "type": TYPES, "er": STATUS, "pr": STATUS, "hr": STATUS, "her2": HER2,
    "menopause": MENOPAUSE, "sex": SEXES, "metastases": SITES, "oligometastatic": TRISTATE,
    **{b: STATUS for b in BIOMARKERS},
    "setting": SETTINGS,   # before-surgery | after-surgery | metastatic (from stage and phase)
    "phase": PHASES,       # stages 0-III only
    "line": LINES,         # stage IV: first | later; none for stages 0-III
    "prior": None,  # drug ids, checked against the library
    "not_prior": None,  # drug ids: matches when the person has had none of them
    "current": None,  # drug ids the person gets now
    "not_current": None,  # drug ids: matches when the person gets none of them now
    # settings of the medicines the person has had: any of them / none of them
    "prior_setting": SETTINGS,
    "not_prior_setting": SETTINGS,
    # groups of the drugs the person gets now (groups.yaml ids), or `none`: no current
    # therapy is known (e.g. the fever page: for chemotherapy now, or when nothing is known)
    "current_group": None,
    "not_current_group": None,  # groups: matches when the person gets none of them now
    # groups of the drugs the person has had: any of them / none of them
    "prior_group": None,
    "not_prior_group": None,
    # where the person lives (`unknown` when the profile does not say): a province's own
    # program (Ontario's drug plan list) is for people there, or when the province is unknown
    "province": (*PROVINCES, "unknown"),
}
ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
REVIEW_MONTHS = 12
MIN_EASE_FR = 60.0  # Kandel-Moles: 60-70 is plain French, like grade 8 English


def _rule(value: Any) -> dict[str, list[str]]:
    """Normalise an `applies` mapping; YAML gives ints for stage 0 and bools for true."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("applies must be a mapping of field -> list of values")
    out: dict[str, list[str]] = {}
    for key, values in value.items():
        if key not in RULE_VALUES:
            raise ValueError(f"unknown rule key '{key}'; allowed: {', '.join(RULE_VALUES)}")
        items = values if isinstance(values, list) else [values]
        norm = []
        for item in items:
            text = ("true" if item else "false") if isinstance(item, bool) else str(item)
            allowed = RULE_VALUES[key]
            if allowed is not None and text not in allowed:
                raise ValueError(f"rule '{key}': '{text}' is not one of {', '.join(allowed)}")
            norm.append(text)
        if not norm:
            raise ValueError(f"rule '{key}' lists no values")
        out[key] = norm
    return out


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Item(Model):
    id: str
    sources: list[str] = Field(min_length=1)
    reviewed: dt.date
    applies: dict[str, list[str]] = {}

    @field_validator("applies", mode="before")
    @classmethod
    def _applies(cls, value: Any) -> dict[str, list[str]]:
        return _rule(value)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not ID.match(value):
            raise ValueError(f"'{value}' is not a lowercase hyphenated id")
        return value


class Source(Model):
    id: str
    title: str
    publisher: str
    year: int | None = None
    url: str
    short: str = ""  # a short title for the printed list (the full one is in `booklet sources`)


class Piece(Model):
    """A sentence or list item that carries its own rule, or a shared snippet by id."""

    text: str = ""
    ref: str = ""  # a snippet id (snippets.yaml): the same words everywhere, never shortened
    applies: dict[str, list[str]] = {}
    sources: list[str] = []  # cited only when this piece is shown (e.g. a men-only leaflet)

    @field_validator("applies", mode="before")
    @classmethod
    def _applies(cls, value: Any) -> dict[str, list[str]]:
        return _rule(value)

    def model_post_init(self, _: Any) -> None:
        if bool(self.text) == bool(self.ref):
            raise ValueError("a piece has either text or ref")


# A paragraph made of the pieces that fit the profile; a plain string always fits.
Prose = str | list[str | Piece]
Pieces = list[str | Piece]


def pieces(value: Prose) -> list[Piece]:
    items = [value] if isinstance(value, str) else value
    return [Piece(text=p) if isinstance(p, str) else p for p in items if p != ""]


class Snippet(Model):
    id: str
    text: str
    sources: list[str] = Field(min_length=1)
    reviewed: dt.date
    applies: dict[str, list[str]] = {}


class Group(Model):
    id: str
    title: str
    intro: Prose
    title_men: str = ""  # the words for a man's booklet, where the group's own are for women
    intro_men: Prose = ""
    purpose: str = ""  # "What it is for" on the My medicines page
    purpose_men: str = ""
    call_now: Pieces = []  # added to the "call right away" box of every drug in the group

    def title_for(self, sex: str) -> str:
        return self.title_men if sex == "male" and self.title_men else self.title

    def purpose_for(self, sex: str) -> str:
        return self.purpose_men if sex == "male" and self.purpose_men else self.purpose

    def intro_for(self, sex: str) -> Prose:
        return self.intro_men if sex == "male" and self.intro_men else self.intro


class Funding(Model):
    """One dated public-funding fact for a setting (applies), from a cited source."""

    text: str
    as_of: dt.date | None = None
    sources: list[str] = Field(min_length=1)
    applies: dict[str, list[str]] = {}

    @field_validator("applies", mode="before")
    @classmethod
    def _applies(cls, value: Any) -> dict[str, list[str]]:
        return _rule(value)


class Canada(Model):
    """Health Canada status of a use: approved on a date, or not approved as of a date."""

    approved: dt.date | None = None
    not_approved_as_of: dt.date | None = None
    sources: list[str] = Field(min_length=1)

    def model_post_init(self, _: Any) -> None:
        if (self.approved is None) == (self.not_approved_as_of is None):
            raise ValueError("give exactly one of approved, not_approved_as_of")


class Use(Model):
    applies: dict[str, list[str]]
    line: Literal[1, 2, 3] | None = None
    # joins the line once an earlier part ends (hormone therapy after chemotherapy with
    # HER2 drugs): not one of the first medicines a person starts with
    maintenance: bool = False
    with_: list[str] = Field(default=[], alias="with")
    after: list[str | list[str]] = []  # all of these; an inner list means any one of them
    needs: list[str] = []  # shown only when one of these drugs is in the booklet too
    # follows a course of chemotherapy (after surgery, when cancer is left): never an
    # alternative to the course given now
    after_course: bool = False
    canada: Canada | None = None
    text: str

    @property
    def after_ids(self) -> list[str]:
        return [d for item in self.after for d in ([item] if isinstance(item, str) else item)]

    def follows(self, prior: tuple[str, ...]) -> bool:
        """True when the person has had what usually comes before this use."""
        return bool(self.after) and all(
            (item in prior) if isinstance(item, str) else any(d in prior for d in item)
            for item in self.after)

    @field_validator("applies", mode="before")
    @classmethod
    def _applies(cls, value: Any) -> dict[str, list[str]]:
        return _rule(value)


class Drug(Item):
    name: str
    brands: list[str] = []
    group: str
    what: Prose
    short: Prose = ""  # the compact entry: what it is and when it is used, 1-2 sentences
    given: Prose
    side_effects: Pieces = Field(min_length=1)
    call_now: Pieces = Field(min_length=1)
    monitoring: Pieces = []
    tips: Pieces = []
    funding: list[Funding] = []  # setting-specific; none that fits points to "Paying for medicines"
    uses: list[Use] = Field(min_length=1)

    @field_validator("funding", mode="before")
    @classmethod
    def _funding(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value


class RegimenPart(Model):
    name: str
    drugs: list[str] = Field(min_length=1)
    cycle_days: int | None = None  # None: taken every day, no cycles
    cycles: int | None = None      # None: as long as it works (or as the team decides)
    days: str = ""                 # which days of the cycle, in words ("day 1", "days 1 to 21")
    visit: str = ""                # how long a treatment visit usually takes
    starts: str = ""               # when it starts, if not right after the part before ("after surgery")


class Regimen(Item):
    title: str
    names: list[str] = []  # usual names and codes; a code shared by two regimens is ambiguous
    drugs: list[str] = Field(min_length=1)
    parts: list[RegimenPart] = Field(min_length=1)
    what: Prose


class Step(Item):
    title: str
    order: int
    summary: str = ""
    parent: str | None = None
    numbered: bool = True
    standards: list[str] = []
    questions: list[str] = []
    insert: Literal["drug-overview"] | None = None  # generated block shown after the step
    glance: str = ""  # a short text for the "At a glance" page (grade 6 or below)
    # Stages 0-III: the phases in which this step is what happens now. Before them the step
    # is short (its summary); after them it shrinks to `done`. No phases: always in full.
    # Stage IV: choosing (first treatment not chosen yet), next-line (choosing after a
    # treatment stopped working), treatment (current therapies given).
    phases: list[Literal["diagnosis", "before-surgery", "after-surgery", "follow-up",
                         "choosing", "next-line", "treatment"]] = []
    # the phases in which this step is marked "you are here" on the path, where another step
    # of the same phase would otherwise be picked (stage IV: choosing a plan, not the referral)
    here: list[Literal["diagnosis", "before-surgery", "after-surgery", "follow-up",
                       "choosing", "next-line", "treatment"]] = []
    done: str = ""  # "what you have done", shown once the step is behind the person
    # the note above `done` when "This part is behind you" would not be true of all of it
    # (medicines after surgery are planned, but a hormone pill goes on for years)
    done_label: str = ""
    # the note above the summary of a step shown in brief, when "This part comes later"
    # would not fit (planning ahead for the end of life can happen at any time)
    ahead_label: str = ""
    safety: bool = False  # when to get help, fever, signs of recurrence: never shrinks
    # a rule (as `applies`) under which the step is still ahead and shown short, e.g. surgery
    # while medicines before surgery are given: {phase: [before-surgery], current_group: [...]}
    short_if: dict[str, list[str]] = {}
    body: str = ""

    @field_validator("short_if", mode="before")
    @classmethod
    def _short_if(cls, value: Any) -> dict[str, list[str]]:
        return _rule(value)


class Standard(Item):
    sources: list[str] = []
    text: str
    source: str
    where: str = ""
    # what the figure is: a target someone set, what a study found teams usually do, or a
    # measure a health system reports on itself; each prints its own label
    kind: Literal["goal", "practice", "measure"] = "goal"


class Question(Item):
    text: str
    priority: int = Field(default=3, ge=1, le=5)  # 1 = ask first; a booklet keeps the highest


class Term(Item):
    term: str
    also: list[str] = []
    definition: Prose


BLOCK = re.compile(r"^:::[ \t]*(applies[ \t]+(?P<rule>\{.*\})|include[ \t]+(?P<ref>[a-z0-9-]+))?[ \t]*$")


@dataclass(frozen=True)
class Segment:
    """A part of a step body: Markdown text or a snippet id, with its own rule."""

    text: str = ""
    ref: str = ""
    applies: dict[str, list[str]] = field(default_factory=dict)
    sources: tuple[str, ...] = ()  # `::: applies {..., sources: [id]}`: cited when shown


def segments(body: str) -> list[Segment]:
    """Split a step body into segments.

    `::: applies {sex: [female]}` ... `:::` wraps text that has its own rule (a `sources`
    key in the braces names sources cited only when that text is shown);
    `::: include fever-rule` puts a shared snippet in its own paragraph.
    """
    out: list[Segment] = []
    current: list[str] = []
    rule: dict[str, list[str]] | None = None
    cites: tuple[str, ...] = ()

    def flush(applies: dict[str, list[str]], sources: tuple[str, ...] = ()) -> None:
        text = "\n".join(current).strip()
        if text:
            out.append(Segment(text=text, applies=applies, sources=sources))
        current.clear()

    for line in body.splitlines():
        m = BLOCK.match(line)
        if not m:
            current.append(line)
            continue
        if m.group("ref"):
            flush(rule or {}, cites)
            out.append(Segment(ref=m.group("ref"), applies=rule or {}))
        elif m.group("rule"):
            if rule is not None:
                raise ValueError("'::: applies' blocks cannot nest")
            flush({})
            raw = _yaml(m.group("rule"))
            cites = tuple(raw.pop("sources", ()) or ()) if isinstance(raw, dict) else ()
            rule = _rule(raw)
        else:
            if rule is None:
                raise ValueError("':::' closes no block")
            flush(rule, cites)
            rule, cites = None, ()
    if rule is not None:
        raise ValueError("an '::: applies' block is not closed with ':::'")
    flush({})
    return out


class Catalog(dict):
    """Drug id -> names (generic and brands), with the regimens (id -> names, drugs) and
    each drug's group (for the `current_group` rule)."""

    regimens: dict[str, dict[str, Any]]
    groups: dict[str, str]


@dataclass
class Library:
    """Everything under content/ for one language, indexed by id."""

    language: str
    sources: dict[str, Source] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    drugs: dict[str, Drug] = field(default_factory=dict)
    steps: dict[str, Step] = field(default_factory=dict)
    standards: dict[str, Standard] = field(default_factory=dict)
    questions: dict[str, Question] = field(default_factory=dict)
    glossary: dict[str, Term] = field(default_factory=dict)
    regimens: dict[str, Regimen] = field(default_factory=dict)
    snippets: dict[str, Snippet] = field(default_factory=dict)
    conditions: dict[str, dict[str, str]] = field(default_factory=dict)
    ui: dict[str, Any] = field(default_factory=dict)
    paths: dict[int, Path] = field(default_factory=dict)  # id(item) -> file

    def items(self) -> Iterator[Item]:
        for table in (self.drugs, self.steps, self.standards, self.questions, self.glossary,
                      self.regimens, self.snippets):
            yield from table.values()

    @property
    def drug_names(self) -> Catalog:
        if "_catalog" not in self.__dict__:
            catalog = Catalog({d.id: [d.name, *d.brands] for d in self.drugs.values()})
            catalog.groups = {d.id: d.group for d in self.drugs.values()}
            catalog.regimens = {r.id: {"title": r.title, "names": [r.title, *r.names],
                                       "drugs": list(r.drugs), "applies": r.applies}
                                for r in self.regimens.values()}
            self.__dict__["_catalog"] = catalog
        return self.__dict__["_catalog"]

    def segments(self, step: Step) -> list[Segment]:
        cache = self.__dict__.setdefault("_segments", {})
        if step.id not in cache:
            cache[step.id] = segments(step.body)
        return cache[step.id]

    @property
    def mask_words(self) -> list[str]:
        words: list[str] = []
        for d in self.drugs.values():
            words += [d.name, *d.brands, d.id.replace("-", " ")]
        for t in self.glossary.values():
            words += [t.term, *t.also]
        return words

    def drugs_in(self, text: str) -> set[str]:
        """Ids of the drugs `text` names by generic or brand name (whole words, any case;
        names of 3 letters or fewer are left out, as too easy to meet by chance)."""
        if "_drugs_rx" not in self.__dict__:
            names = {n.lower(): d.id for d in self.drugs.values()
                     for n in (d.name, *d.brands) if len(n) > 3}
            alternation = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
            self.__dict__["_drug_forms"] = names
            self.__dict__["_drugs_rx"] = re.compile(
                rf"(?<![\w-])(?:{alternation})(?![\w-])", re.IGNORECASE)
        forms = self.__dict__["_drug_forms"]
        return {forms[m.group(0).lower()] for m in self.__dict__["_drugs_rx"].finditer(text)}

    def terms_in(self, text: str) -> frozenset[str]:
        """Ids of the glossary terms `text` uses (whole words, any case). Cached per text."""
        cache = self.__dict__.setdefault("_terms_cache", {})
        if text in cache:
            return cache[text]
        if "_terms_rx" not in self.__dict__:
            forms = {}
            for term in self.glossary.values():
                for form in (term.term, *term.also):
                    forms.setdefault(form.lower(), term.id)
            alternation = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
            self.__dict__["_terms_forms"] = forms
            self.__dict__["_terms_rx"] = re.compile(rf"(?<![\w-])(?:{alternation})(?![\w-])",
                                                    re.IGNORECASE) if forms else None
        rx = self.__dict__["_terms_rx"]
        found = frozenset() if rx is None else frozenset(
            self.__dict__["_terms_forms"][m.group(0).lower()] for m in rx.finditer(text))
        cache[text] = found
        return found

    def path_of(self, item: Any) -> Path | None:
        return self.paths.get(id(item))

    def item_for_path(self, path: str) -> Item:
        target = Path(path).resolve()
        for item in self.items():
            p = self.path_of(item)
            if p is not None and p.resolve() == target:
                return item
        raise KeyError(path)

    def children(self, step_id: str) -> list[Step]:
        return sorted((s for s in self.steps.values() if s.parent == step_id),
                      key=lambda s: (s.order, s.id))

    def top_steps(self) -> list[Step]:
        return sorted((s for s in self.steps.values() if s.parent is None),
                      key=lambda s: (s.order, s.id))


# ---------------------------------------------------------------- reading files

FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n?(.*)\Z", re.DOTALL)


# libyaml's parser when available: content loading is on the path of every command.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml(text: str) -> Any:
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader


def _read_yaml(path: Path, problems: list[str]) -> Any:
    if not path.is_file():
        problems.append(f"{_rel(path)}: missing")
        return None
    try:
        return _yaml(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problems.append(f"{_rel(path)}: not valid YAML ({exc})")
        return None


def _read_markdown(path: Path, problems: list[str]) -> dict[str, Any] | None:
    text = path.read_text(encoding="utf-8")
    match = FRONT.match(text)
    if not match:
        problems.append(f"{_rel(path)}: missing YAML front matter between '---' lines")
        return None
    try:
        meta = _yaml(match.group(1)) or {}
    except yaml.YAMLError as exc:
        problems.append(f"{_rel(path)}: front matter is not valid YAML ({exc})")
        return None
    if not isinstance(meta, dict):
        problems.append(f"{_rel(path)}: front matter is not a mapping")
        return None
    meta["body"] = match.group(2).strip()
    return meta


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(assets.root()))
    except ValueError:
        return str(path)


def _errors(path: Path, exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(file)"
        msg = err["msg"].removeprefix("Value error, ")
        value = err.get("input")
        shown = "" if isinstance(value, (dict, list)) or value is None else f" (got {value!r:.60})"
        out.append(f"{_rel(path)}: field '{loc}': {msg}{shown}")
    return out


def _build(model: type[Model], data: Any, path: Path, problems: list[str]) -> Any:
    if not isinstance(data, dict):
        problems.append(f"{_rel(path)}: expected a mapping")
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems.extend(_errors(path, exc))
        return None


def _add(table: dict[str, Any], item: Any, path: Path, lib: Library, problems: list[str]) -> None:
    if item is None:
        return
    if item.id in table:
        problems.append(f"{_rel(path)}: duplicate id '{item.id}' (also in {_rel(lib.paths[id(table[item.id])])})")
        return
    table[item.id] = item
    lib.paths[id(item)] = path


def _list_file(path: Path, model: type[Model], table: dict[str, Any], lib: Library,
               problems: list[str]) -> None:
    if not path.exists():
        return
    data = _read_yaml(path, problems)
    if data is None:
        return
    if not isinstance(data, list):
        problems.append(f"{_rel(path)}: expected a list of items")
        return
    for n, entry in enumerate(data):
        item = _build(model, entry, path, problems)
        if item is None and isinstance(entry, dict):
            problems[-1] = problems[-1].replace(f"{_rel(path)}:", f"{_rel(path)} item {n + 1}:", 1)
        _add(table, item, path, lib, problems)


def load_library(language: str = "en", root: Path | None = None) -> Library:
    """Load and cross-check all content for `language`; raise ContentError on any problem."""
    lib, problems = _load(language, root)
    problems += _cross_check(lib)
    if problems:
        raise ContentError(problems)
    return lib


@cache
def cached_library(language: str = "en") -> Library:
    """The bundled library, loaded once per process (batch workers reuse it)."""
    return load_library(language)


def _load(language: str, root: Path | None) -> tuple[Library, list[str]]:
    base = root or assets.path("content")
    lang = base / language
    problems: list[str] = []
    lib = Library(language=language)
    if not lang.is_dir():
        raise ContentError(f"content: no content for language '{language}'")
    for path in sorted((base / "sources").glob("*.yaml")):
        _add(lib.sources, _build(Source, _read_yaml(path, problems), path, problems), path, lib, problems)
    # A language may give a source its own title and address (the publisher's page in that
    # language), as a variant of the same id: content/<lang>/sources.yaml.
    variants = lang / "sources.yaml"
    if variants.is_file():
        for sid, variant in (_read_yaml(variants, problems) or {}).items():
            if sid not in lib.sources:
                problems.append(f"{_rel(variants)}: unknown source id '{sid}'")
                continue
            extra = set(variant or {}) - {"title", "short", "url", "publisher"}
            if extra:
                problems.append(f"{_rel(variants)} ({sid}): unknown keys {', '.join(sorted(extra))}")
                continue
            lib.sources[sid] = lib.sources[sid].model_copy(update=variant or {})
    for entry in _read_yaml(lang / "groups.yaml", problems) or []:
        group = _build(Group, entry, lang / "groups.yaml", problems)
        _add(lib.groups, group, lang / "groups.yaml", lib, problems)
    for path in sorted((lang / "drugs").glob("*.yaml")):
        drug = _build(Drug, _read_yaml(path, problems), path, problems)
        if drug is not None and drug.id != path.stem:
            problems.append(f"{_rel(path)}: id '{drug.id}' does not match the file name")
        _add(lib.drugs, drug, path, lib, problems)
    for path in sorted((lang / "steps").glob("*.md")):
        meta = _read_markdown(path, problems)
        if meta is not None:
            _add(lib.steps, _build(Step, meta, path, problems), path, lib, problems)
    # Each list may also be split into files in a folder of the same name.
    for path in sorted((lang / "regimens").glob("*.yaml")):
        regimen = _build(Regimen, _read_yaml(path, problems), path, problems)
        if regimen is not None and regimen.id != path.stem:
            problems.append(f"{_rel(path)}: id '{regimen.id}' does not match the file name")
        _add(lib.regimens, regimen, path, lib, problems)
    for name, model, table in (("standards", Standard, lib.standards),
                               ("questions", Question, lib.questions),
                               ("glossary", Term, lib.glossary),
                               ("snippets", Snippet, lib.snippets)):
        for path in [lang / f"{name}.yaml", *sorted((lang / name).glob("*.yaml"))]:
            _list_file(path, model, table, lib, problems)
    lib.conditions = _read_yaml(lang / "conditions.yaml", problems) or {}
    lib.ui = _read_yaml(lang / "ui.yaml", problems) or {}
    return lib, problems


def _cross_check(lib: Library) -> list[str]:
    """Dangling ids: sources, groups, standards, questions, parents, drugs in rules."""
    problems: list[str] = []

    def where(item: Any) -> str:
        path = lib.path_of(item)
        return f"{_rel(path)} ({item.id})" if path else item.id

    def need(table: dict[str, Any], ids: Iterable[str], what: str, item: Any) -> None:
        for ref in ids:
            if ref not in table:
                problems.append(f"{where(item)}: unknown {what} '{ref}'")

    for item in lib.items():
        need(lib.sources, item.sources, "source id", item)
        if isinstance(item, Step):
            need(lib.sources, [c for g in lib.segments(item) for c in g.sources],
                 "source id in an '::: applies' block", item)
        for key in ("current_group", "not_current_group", "prior_group", "not_prior_group"):
            need({**lib.groups, "none": None}, item.applies.get(key, []),
                 f"group in rule '{key}'", item)
        need(lib.drugs, item.applies.get("prior", []), "drug id in rule 'prior'", item)
        need(lib.drugs, item.applies.get("not_prior", []), "drug id in rule 'not_prior'", item)
        need(lib.drugs, item.applies.get("not_current", []), "drug id in rule 'not_current'", item)
    def refs(value: Any) -> list[str]:
        if isinstance(value, str):
            return []
        return [p.ref for p in value if isinstance(p, Piece) and p.ref]

    def piece_sources(value: Any) -> list[str]:
        if isinstance(value, str):
            return []
        return [s for p in value if isinstance(p, Piece) for s in p.sources]

    for drug in lib.drugs.values():
        need(lib.groups, [drug.group], "group", drug)
        for fund in drug.funding:
            need(lib.sources, fund.sources, "source id in funding", drug)
        for fld in ("what", "short", "given", "side_effects", "call_now", "monitoring", "tips"):
            need(lib.snippets, refs(getattr(drug, fld)), f"snippet in {fld}", drug)
            need(lib.sources, piece_sources(getattr(drug, fld)), f"source id in {fld}", drug)
        for use in drug.uses:
            for key in ("current_group", "not_current_group", "prior_group", "not_prior_group"):
                need({**lib.groups, "none": None}, use.applies.get(key, []),
                     f"group in rule '{key}'", drug)
            need(lib.drugs, use.with_ + use.after_ids + use.needs + use.applies.get("prior", [])
                 + use.applies.get("not_prior", [])
                 + use.applies.get("current", []), "drug id", drug)
            if use.canada:
                need(lib.sources, use.canada.sources, "source id in canada", drug)
    for group in lib.groups.values():
        need(lib.snippets, refs(group.call_now), "snippet in call_now", group)
    for reg in lib.regimens.values():
        need(lib.drugs, reg.drugs, "drug id", reg)
        for part in reg.parts:
            need(lib.drugs, part.drugs, "drug id in a part", reg)
            missing = set(part.drugs) - set(reg.drugs)
            if missing:
                problems.append(f"{where(reg)}: part '{part.name}' names {sorted(missing)} "
                                "that are not in the regimen's drugs")
        if reg.id in lib.drugs:
            problems.append(f"{where(reg)}: regimen id is also a drug id")
    for step in lib.steps.values():
        try:
            segs = lib.segments(step)
        except ValueError as exc:
            problems.append(f"{where(step)}: {exc}")
            continue
        need(lib.snippets, [g.ref for g in segs if g.ref], "snippet in body", step)
        need(lib.standards, step.standards, "standard", step)
        need(lib.questions, step.questions, "question", step)
        if step.parent is not None:
            need(lib.steps, [step.parent], "parent step", step)
    for std in lib.standards.values():
        need(lib.sources, [std.source], "source id", std)
    return problems


# ---------------------------------------------------------------- editorial check

MARKUP = re.compile(r"<[a-zA-Z/!]|^\s*#|\]\(|https?://|file:", re.MULTILINE)
ITALIC = re.compile(r"(?<![*\w])[*_](?![*_\s])[^*_\n]+(?<![\s*_])[*_](?![*\w])")


def item_text(item: Any, uses: list[Use] | None = None) -> list[str]:
    """The reader-facing prose of an item, for grading and glossary detection.

    For a drug, `uses` limits the "when it may be offered" text to the uses shown.
    """
    if isinstance(item, Drug):
        shown = item.uses if uses is None else uses
        flat = [p.text for fld in ("what", "short", "given", "side_effects", "call_now",
                                   "monitoring", "tips") for p in pieces(getattr(item, fld))]
        return [*flat, *(f.text for f in item.funding), *(u.text for u in shown)]
    if isinstance(item, Regimen):
        return [p.text for p in pieces(item.what)] + [x.days for x in item.parts]
    if isinstance(item, Step):
        body = "\n\n".join(g.text for g in segments(item.body) if g.text)
        return [item.summary, item.glance, item.done, body]
    if isinstance(item, Term):
        return [p.text for p in pieces(item.definition)]
    return [getattr(item, "text", "")]


@dataclass
class CheckReport:
    problems: list[str]
    grades: list[tuple[str, str, float]]  # (kind, id, grade)
    counts: dict[str, int]


def check_library(language: str = "en", as_of: dt.date | None = None,
                  max_grade: float = 8.0, root: Path | None = None) -> CheckReport:
    """Everything `load_library` checks, plus review dates, markup and reading grade."""
    from booklet.readability import grade, kandel_moles, mask, prose

    as_of = as_of or dt.date.today()
    lib, problems = _load(language, root)
    problems += _cross_check(lib)
    limit = _months_before(as_of, REVIEW_MONTHS)
    grades: list[tuple[str, str, float]] = []
    words = lib.mask_words
    for item in lib.items():
        label = f"{_rel(lib.path_of(item))} ({item.id})" if lib.path_of(item) else item.id
        if item.reviewed < limit:
            problems.append(f"{label}: reviewed {item.reviewed} is more than "
                            f"{REVIEW_MONTHS} months before {as_of}; review it against its sources")
        if item.reviewed > as_of:
            problems.append(f"{label}: reviewed {item.reviewed} is in the future (as of {as_of})")
        for text in item_text(item):
            if MARKUP.search(text):
                problems.append(f"{label}: headings, HTML, links or URLs are not allowed in text")
                break
            if ITALIC.search(text):
                problems.append(f"{label}: italics are not allowed (use bold for emphasis)")
                break
        kind = type(item).__name__.lower()
        if language == "fr":
            # French: Kandel-Moles reading ease, at least as plain as grade 8 English
            ease = kandel_moles(mask(prose(item_text(item)), words))
            grades.append((kind, item.id, ease))
            if kind in ("drug", "step") and ease < MIN_EASE_FR:
                problems.append(f"{label}: Kandel-Moles reading ease {ease} is below {MIN_EASE_FR}")
            continue
        g = grade(mask(prose(item_text(item)), words))
        grades.append((kind, item.id, g))
        if kind in ("drug", "step") and g > max_grade:
            problems.append(f"{label}: reading grade {g} is above {max_grade}")
    for drug in lib.drugs.values():
        for fund in drug.funding:
            if fund.as_of and fund.as_of > as_of:
                problems.append(f"{_rel(lib.path_of(drug))}: funding as_of {fund.as_of} is in the future")
    counts = {"sources": len(lib.sources), "drugs": len(lib.drugs), "regimens": len(lib.regimens),
              "steps": len(lib.steps),
              "standards": len(lib.standards), "questions": len(lib.questions),
              "glossary": len(lib.glossary)}
    return CheckReport(problems, grades, counts)


def _months_before(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


# ---------------------------------------------------------------- two languages

# Text a translator writes; everything else (ids, rules, sources, numbers, aliases) must be
# the same in every language.
FREE_TEXT = {"title", "text", "summary", "done", "what", "short", "given", "side_effects",
             "call_now", "monitoring", "tips", "term", "definition", "also", "intro",
             "title_men", "intro_men", "purpose", "purpose_men", "name", "days", "visit", "starts",
             "glance", "body", "label", "where", "insert_title", "done_label", "ahead_label"}


def shape(value: Any, free: bool = False) -> Any:
    """An item with its human-language text blanked: what must match across languages."""
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, dict):
        # `also` lists the other forms of a glossary word: each language has its own number
        return {k: "…" if k == "also" else shape(v, k in FREE_TEXT)
                for k, v in value.items() if k != "reviewed"}
    if isinstance(value, (list, tuple)):
        return [shape(v, free) for v in value]
    if isinstance(value, str) and free:
        return "…"
    return value


def check_languages(root: Path | None = None, reference: str = "en") -> list[str]:
    """Every language mirrors the reference one: the same items (by id), the same rules and
    sources (piece by piece, body segment by body segment), and no translation older than
    its original. Returns problems."""
    base = root or assets.path("content")
    langs = sorted(p.name for p in base.iterdir()
                   if p.is_dir() and p.name not in ("sources", reference))
    if not langs:
        return []
    ref, problems = _load(reference, root)
    out: list[str] = []
    tables = ("drugs", "steps", "regimens", "standards", "questions", "glossary", "snippets",
              "groups")
    for language in langs:
        other, more = _load(language, root)
        out += [f"[{language}] {p}" for p in more]
        for table in tables:
            a, b = getattr(ref, table), getattr(other, table)
            for missing in sorted(set(a) - set(b)):
                out.append(f"[{language}] {table} '{missing}': only in {reference}")
            for extra in sorted(set(b) - set(a)):
                out.append(f"[{language}] {table} '{extra}': only in {language}")
            for key in sorted(set(a) & set(b)):
                x, y = a[key], b[key]
                if shape(x) != shape(y):
                    out.append(f"[{language}] {table} '{key}': rules, sources or structure differ "
                               f"from {reference} ({_diff(shape(x), shape(y))})")
                if table == "steps":
                    sx = [(g.applies, g.ref) for g in ref.segments(x)]
                    sy = [(g.applies, g.ref) for g in other.segments(y)]
                    if sx != sy:
                        out.append(f"[{language}] steps '{key}': its ::: applies / include "
                                   f"blocks differ from {reference}")
                rx, ry = getattr(x, "reviewed", None), getattr(y, "reviewed", None)
                if rx and ry and ry < rx:
                    out.append(f"[{language}] {table} '{key}': reviewed {ry}, older than the "
                               f"{reference} text ({rx}); bring the translation up to date")
        for extra in sorted(set(ref.ui) - set(other.ui)):
            out.append(f"[{language}] ui.yaml: '{extra}' is missing")
    return out


def _diff(a: Any, b: Any, path: str = "") -> str:
    """The first place two shapes differ, as a dotted path."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if a.get(k) != b.get(k):
                return _diff(a.get(k), b.get(k), f"{path}.{k}" if path else str(k))
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for n, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _diff(x, y, f"{path}[{n}]")
    return f"{path or 'item'}: {a!r} vs {b!r}"[:160]
