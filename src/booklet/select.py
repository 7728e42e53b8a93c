"""Stage 2: select what a profile's booklet holds, with the reason for each inclusion.

The plan is plain data (no rendering): ordered sections with their sub-sections, the
person's current treatment, drugs grouped by role with their status (now, had, may come
later), standards, questions, glossary terms and sources. Every entry carries `why` (the
rule it matched, in words) and `conditions` (what the profile did not say, so the booklet
labels the content "If ..."). Every sentence is chosen too: pieces of text carry their own
`applies`, and the plan holds only the text that fits (`Plan.texts()`).
"""

from __future__ import annotations

from dataclasses import replace, dataclass, field
from collections.abc import Callable
from typing import Any

from booklet.content import (Drug, Library, Piece, Question, Regimen, Standard, Step, Use,
                             pieces)
from booklet.errors import ProfileError, in_language
from booklet.profile import BIOMARKERS, Profile
from booklet.rules import Condition, Match, describe, match

MAX_QUESTIONS_PER_STEP = 5
MAX_QUESTIONS = 30
MAX_GLOSSARY = 18  # under two pages of words to know (two columns)
MAX_GLOSSARY_HANDOUT = 6  # a third of a page, when the booklet is about a known current treatment
PHASE_ORDER = ("diagnosis", "before-surgery", "after-surgery", "follow-up")
STAGE4_ORDER = ("choosing", "next-line", "treatment")


def care_phase(profile: Profile) -> str:
    """Where the person is: a phase for stages 0-III; for stage IV, choosing a first
    treatment, choosing the next one, or on treatment (current therapies known)."""
    if profile.stage != "IV":
        return profile.effective_phase
    if profile.current_therapies:
        return "treatment"
    return "next-line" if profile.line == "later" else "choosing"


PAYING_SECTIONS = ("paying-for-drugs",)  # drug cards point here when it is shown


@dataclass(frozen=True)
class Text:
    """A piece of text that fits the profile; `conditions` label it "If ..."."""

    text: str
    conditions: tuple[Condition, ...] = ()
    ref: str = ""  # the snippet it comes from, if any (its sources are cited)
    sources: tuple[str, ...] = ()  # the piece's own sources, cited when it is shown


@dataclass
class Planned:
    item: Any
    why: str
    conditions: tuple[Condition, ...] = ()


@dataclass
class PlannedUse:
    use: Use
    conditions: tuple[Condition, ...]
    next_up: bool  # the person has had what usually comes before


@dataclass
class PlannedDrug(Planned):
    uses: list[PlannedUse] = field(default_factory=list)
    had: bool = False
    now: bool = False
    chosen: str = ""  # trial | off-label: the team chose it outside the usual rules
    full: bool = True  # a full card; otherwise a compact entry
    parts: dict[str, list[Text]] = field(default_factory=dict)  # resolved card text
    funding: list[Any] = field(default_factory=list)  # Funding entries that fit

    @property
    def line(self) -> int:
        """The earliest line among the uses approved in Canada (all uses if none is): a use
        not approved here never labels a medicine "first treatment"."""
        approved = [u for u in self.uses if not _unapproved(u)] or self.uses
        lines = [u.use.line for u in approved if u.use.line is not None]
        return min(lines) if lines else 9

    @property
    def next_up(self) -> bool:
        """What usually comes next: never on the strength of a use not approved in Canada."""
        return not self.had and not self.now and any(u.next_up and not _unapproved(u)
                                                     for u in self.uses)

    @property
    def status(self) -> str:
        return "now" if self.now else "had" if self.had else "later"


@dataclass
class PlannedSection(Planned):
    children: list[PlannedSection] = field(default_factory=list)
    standards: list[Planned] = field(default_factory=list)
    questions: list[Planned] = field(default_factory=list)
    more_questions: list[Planned] = field(default_factory=list)  # over the cap: explain only
    number: int | None = None
    mode: str = "full"  # full | short (still ahead) | done (behind the person)
    body: list[Text] = field(default_factory=list)  # Markdown segments that fit

    def walk_children(self) -> list[PlannedSection]:
        out = []
        for child in self.children:
            out.append(child)
            out.extend(child.walk_children())
        return out


@dataclass
class Plan:
    profile: Profile
    library: Library
    sections: list[PlannedSection]
    drugs: list[PlannedDrug]
    glossary: list[Planned]
    sources: list[str]
    regimens: list[Planned] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what explain should say about the plan
    all_medicines: bool = False
    program: list[Text] = field(default_factory=list)  # the province's cancer drug program

    @property
    def card_program(self) -> list[Text]:
        """The province program said on each card: only where no section on paying is shown
        (there, the card points to that section, which says it)."""
        return [] if self.paying_section else self.program

    @property
    def standards(self) -> list[Planned]:
        return [s for sec in self.walk() for s in sec.standards]

    @property
    def questions(self) -> list[Planned]:
        return [q for sec in self.walk() for q in sec.questions]

    @property
    def current(self) -> list[PlannedDrug]:
        return [d for d in self.drugs if d.now]

    def walk(self) -> list[PlannedSection]:
        """Every section, depth first, in reading order."""
        return [s for sec in self.sections for s in (sec, *sec.walk_children())]

    def drug_groups(self, which: str = "all") -> list[tuple[Any, list[PlannedDrug]]]:
        """Drugs by group; `which` is all, full (cards outside "now"), compact (short entries
        for what may come) or had (short entries for medicines had before, not given now)."""
        def keep(d: PlannedDrug) -> bool:
            if which == "full":
                return d.full and not d.now
            over = d.had and not goes_on(d, self.profile)
            if which == "compact":  # what may come: not what was had and is over
                return not d.full and not d.now and not over
            if which == "had":
                return not d.full and not d.now and over
            return True

        groups = []
        for group in self.library.groups.values():
            members = [d for d in self.drugs if d.item.group == group.id and keep(d)]
            if members:
                groups.append((group, sorted(members, key=lambda d: (d.line, d.item.name))))
        if which == "full":  # what may come next: the usual next line first, then the rest
            groups.sort(key=lambda gm: min(d.line for d in gm[1]))
        return groups

    @property
    def paying_section(self) -> str:
        """The element id of the section on paying for medicines, if shown in full."""
        return next((f"step-{sec.item.id}" for sec in self.walk()
                     if sec.item.id in PAYING_SECTIONS and sec.mode == "full"), "")

    def texts(self) -> list[str]:
        """Every sentence of content the booklet shows (for glossary, tests and review)."""
        return [t for _, t in self.located_texts()]

    def located_texts(self) -> list[tuple[str, str]]:
        """(where, text) for every piece of content the booklet shows; `where` names the
        item ("drug tamoxifen side_effects", "step early-fertility", "question ask-...")."""
        out: list[tuple[str, str]] = []
        program = self.card_program
        for sec in self.walk():
            step = sec.item
            where = f"step {step.id}"
            if sec.mode == "done":
                out.append((where + " done", step.done))
                continue
            out.append((where + " summary", step.summary))
            if sec.mode == "full":
                out.append((where + " glance", step.glance))
                out += [(where, t.text) for t in sec.body]
        for d in self.drugs:
            where = f"drug {d.item.id}"
            if d.full or d.now:
                out += [(f"{where} {name}", t.text) for name, part in d.parts.items()
                        if name != "short" for t in part]
                out += [(f"{where} use", u.use.text) for u in d.uses]
                out += [(f"{where} funding", f.text) for f in d.funding]
                out += [(f"{where} funding", t.text) for t in program]
            else:
                out += [(f"{where} short", t.text) for t in d.parts.get("short", [])]
        for r in self.regimens:
            out += [(f"regimen {r.item.id}", t.text)
                    for t in resolve(r.item.what, self.profile, self.library)]
        sex = self.profile.sex
        for group, _ in self.drug_groups():
            out.append((f"group {group.id}", group.title_for(sex)))
            out += [(f"group {group.id}", t.text)
                    for t in resolve(group.intro_for(sex), self.profile, self.library)]
        for t in self.glossary:
            out += [(f"glossary {t.item.id}", x.text)
                    for x in resolve(t.item.definition, self.profile, self.library)]
        out += [(f"standard {p.item.id}", p.item.text) for p in self.standards]
        out += [(f"question {p.item.id}", p.item.text) for p in self.questions]
        return [(w, t) for w, t in out if t]

    def to_json(self) -> dict[str, Any]:
        def cond(p: Planned) -> dict[str, Any]:
            return {"conditions": [{"field": k, "values": list(v)} for k, v in p.conditions]}

        return {
            "profile": self.profile.to_dict(),
            "notes": self.notes,
            "sections": [{"id": s.item.id, "title": s.item.title, "why": s.why,
                          "parent": s.item.parent, "mode": s.mode, **cond(s)}
                         for s in self.walk()],
            "regimens": [{"id": r.item.id, "title": r.item.title, "why": r.why}
                         for r in self.regimens],
            "drugs": {d.item.id: {"name": d.item.name, "group": d.item.group,
                                  "status": d.status, "had": d.had, "now": d.now,
                                  "card": "full" if d.full or d.now else "compact",
                                  "chosen": d.chosen or None,
                                  "line": None if d.line == 9 else d.line, "why": d.why,
                                  "next": d.next_up, **cond(d)} for d in self.drugs},
            "standards": [{"id": s.item.id, "text": s.item.text, "why": s.why, **cond(s)}
                          for s in self.standards],
            "questions": [{"id": q.item.id, "text": q.item.text, "why": q.why, **cond(q)}
                          for q in self.questions],
            "more_questions": [{"id": q.item.id, "text": q.item.text, "why": q.why}
                               for sec in self.walk() for q in sec.more_questions],
            "glossary": [{"id": t.item.id, "term": t.item.term, "why": t.why} for t in self.glossary],
            "sources": self.sources,
        }


# ---------------------------------------------------------------- text that fits

def _fill(item: Any, profile: Profile, lib: Library) -> tuple[str, Match] | None:
    """The text of a piece or body segment that fits, with a snippet's words filled in."""
    result = match(item.applies, profile)
    if not result.ok:
        return None
    if not item.ref:
        return item.text, result
    snippet = lib.snippets[item.ref]
    inner = match(snippet.applies, profile)
    if not inner.ok:
        return None
    return snippet.text, Match(True, result.conditions + inner.conditions)


def resolve(value: Any, profile: Profile, lib: Library) -> list[Text]:
    """The pieces of a Prose or Pieces field that fit the profile, snippets filled in."""
    fitted = ((p, _fill(p, profile, lib)) for p in pieces(value))
    return [Text(" ".join(text.split()), result.conditions, p.ref, tuple(p.sources))
            for p, filled in fitted if filled for text, result in [filled]]


def province_program(profile: Profile, lib: Library) -> list[Text]:
    """The person's own province cancer drug program (snippets `province-drugs-*` whose
    rule fits for certain), said word for word."""
    return [Text(" ".join(s.text.split()), (), s.id, tuple(s.sources))
            for s in lib.snippets.values()
            if s.id.startswith("province-drugs-") and match(s.applies, profile).certain]


def resolve_body(step: Step, profile: Profile, lib: Library) -> list[Text]:
    """The Markdown segments of a step body that fit (kept as Markdown)."""
    fitted = ((g, _fill(g, profile, lib)) for g in lib.segments(step))
    return [Text(text, result.conditions, g.ref, g.sources)
            for g, filled in fitted if filled for text, result in [filled]]


DRUG_PARTS = ("what", "short", "given", "side_effects", "call_now", "monitoring", "tips")


# ---------------------------------------------------------------- sections

def _planned(item: Any, profile: Profile) -> Planned | None:
    result = match(item.applies, profile)
    if not result.ok:
        return None
    return Planned(item, describe(item.applies, profile, result), result.conditions)


def _mode(step: Step, profile: Profile) -> str:
    """full, short (ahead of the person) or done (behind them), from the phase."""
    phase = care_phase(profile)
    if step.safety:
        return "full"
    if step.short_if and match(step.short_if, profile).certain:
        return "short"
    if not step.phases or phase == "unknown":
        return "full"
    order = STAGE4_ORDER if profile.stage == "IV" else PHASE_ORDER
    span = [order.index(p) for p in step.phases if p in order]
    if not span:
        return "full"
    now = order.index(phase)
    if now in span:
        return "full"
    return "done" if now > max(span) else "short"


def _section(step: Step, lib: Library, profile: Profile, result: Match,
             mode: str | None = None) -> PlannedSection | None:
    mode = mode or _mode(step, profile)
    if mode == "done" and not step.done:
        return None  # behind the person, with nothing to say about it
    sec = PlannedSection(step, describe(step.applies, profile, result), result.conditions,
                         mode=mode)
    if mode != "full":
        sec.why += f"; {'behind' if mode == 'done' else 'ahead of'} phase {care_phase(profile)}"
        # safety never shrinks: a safety sub-section (signs to call about) stays in full;
        # so does a sub-section whose own phases include this one (a BRCA result for family)
        for child in lib.children(step.id):
            r = match(child.applies, profile)
            if not r.ok:
                continue
            if child.safety or (child.phases and _mode(child, profile) == "full"):
                sub = _section(child, lib, profile, r, "full")
                if sub is not None:
                    sec.children.append(sub)
        return sec
    sec.body = resolve_body(step, profile, lib)
    sec.standards = [p for p in (_planned(lib.standards[i], profile) for i in step.standards) if p]
    sec.questions = [p for p in (_planned(lib.questions[i], profile) for i in step.questions) if p]
    for child in lib.children(step.id):
        r = match(child.applies, profile)
        if not r.ok:
            continue
        # a sub-section follows its own phases only where it names them
        sub = _section(child, lib, profile, r, None if child.phases else "full")
        if sub is not None and sub.mode == "full":
            sec.children.append(sub)
    return sec


def _cap_questions(sections: list[PlannedSection], per_step: int = MAX_QUESTIONS_PER_STEP) -> None:
    """At most 5 questions per step (4 in a handout about a known current treatment) and 30
    in all, by priority; the rest go to explain."""
    for sec in sections:
        pool = list(sec.questions)
        for child in sec.walk_children():
            pool += [Planned(q.item, q.why, q.conditions or child.conditions)
                     for q in child.questions]
            child.questions = []
        seen: set[str] = set()
        unique = [q for q in pool if not (q.item.id in seen or seen.add(q.item.id))]
        ranked = sorted(unique, key=lambda q: q.item.priority)  # stable: content order breaks ties
        sec.questions = [q for q in unique if q in ranked[:per_step]]
        sec.more_questions = [q for q in unique if q not in sec.questions]
    kept = [(sec, q) for sec in sections for q in sec.questions]
    if len(kept) > MAX_QUESTIONS:
        ranked = sorted(kept, key=lambda sq: sq[1].item.priority)[:MAX_QUESTIONS]
        keep = {id(q) for _, q in ranked}
        for sec in sections:
            drop = [q for q in sec.questions if id(q) not in keep]
            sec.questions = [q for q in sec.questions if id(q) in keep]
            sec.more_questions = drop + sec.more_questions


# ---------------------------------------------------------------- drugs

def _fitting_uses(drug: Drug, profile: Profile,
                  expand: tuple[str, ...] = ()) -> tuple[list[PlannedUse], list[str]]:
    """The uses that fit. With `expand` (the biomarkers), a use that needs a test result the
    profile does not have yet fits on that condition ("If a test finds ...")."""
    uses, reasons = [], []
    # stage IV: what comes after the treatment now, so the current medicines count as had
    # (on trastuzumab deruxtecan, trastuzumab emtansine may come next); stages 0-III: only
    # what is behind the person (residual disease decides what follows surgery)
    behind = profile.prior_therapies + (profile.current_therapies if profile.stage == "IV" else ())
    for use in drug.uses:
        result = match(use.applies, profile, expand)
        if not result.ok:
            continue
        waiting = any(key in expand for key, _ in result.conditions)
        uses.append(PlannedUse(use, result.conditions, use.follows(behind) and not waiting))
        reasons.append(describe(use.applies, profile, result))
    return uses, reasons


def _drug(drug: Drug, profile: Profile) -> PlannedDrug | None:
    # a medicine that a test not done yet could open is listed, labelled with that test;
    # a current medicine is still checked strictly (check_current)
    uses, reasons = _fitting_uses(drug, profile, AWAITED)
    # a use that waits for a test not done yet AND is not approved in Canada is two steps
    # away: the booklet says to ask about new tests when the cancer grows instead. A current
    # or past medicine keeps such a use only when it has no other.
    kept = [(u, r) for u, r in zip(uses, reasons) if not (_waits(u) and _unapproved(u))]
    if kept or (drug.id not in profile.current_therapies
                and drug.id not in profile.prior_therapies):
        uses, reasons = [u for u, _ in kept], [r for _, r in kept]
    if not uses and drug.id in profile.prior_therapies:
        # had before surgery, say, and now after it: still "you have had this"
        timeless = _timeless(profile)
        uses, reasons = _fitting_uses(drug, timeless)
    now = drug.id in profile.current_therapies
    chosen = profile.chosen.get(drug.id, "")
    if not uses and not chosen:
        return None
    certain = [u for u in uses if not u.conditions]
    # The drug as a whole is conditional only if every fitting use carries the same
    # condition; uses for different answers (before and after menopause) each keep theirs.
    same = len({u.conditions for u in uses}) == 1
    conditions = () if (certain or now or not same) else uses[0].conditions
    why = " | ".join(dict.fromkeys(reasons))
    if chosen:
        why = f"current therapy chosen by the team ({chosen})" + (f"; {why}" if why else "")
    elif now:
        why = f"current therapy; {why}"
    return PlannedDrug(drug, why, conditions, uses=uses, had=drug.id in profile.prior_therapies,
                       now=now, chosen=chosen)


def _unapproved(u: PlannedUse) -> bool:
    return u.use.canada is not None and bool(u.use.canada.not_approved_as_of)


def _not_in_canada(d: PlannedDrug) -> bool:
    """Every use that fits is marked not approved in Canada (e.g. a man and ribociclib)."""
    return bool(d.uses) and all(u.use.canada is not None and u.use.canada.not_approved_as_of
                                for u in d.uses)


def _timeless(profile: Profile) -> Profile:
    """The same person at any point of care: every setting, phase and line matches
    (for a drug had before, so it keeps its "you have had this" entry)."""
    import dataclasses

    class Timeless(Profile):
        timeless = True

    return Timeless(**{f.name: getattr(profile, f.name) for f in dataclasses.fields(profile)})


def check_current(profile: Profile, lib: Library) -> None:
    """A current drug that no rule allows for this profile is a mistake in the input."""
    problems = []
    for drug_id in profile.current_therapies:
        drug = lib.drugs.get(drug_id)
        if drug is None or drug_id in profile.chosen:
            continue
        uses, _ = _fitting_uses(drug, profile)
        if uses:
            continue
        rules = "; ".join(dict.fromkeys(_rule_words(u.applies) for u in drug.uses))
        problems.append(
            f"Profile field 'current_therapies': '{drug_id}' does not fit this profile "
            f"(stage {profile.stage}, HR {profile.hr}, HER2 {profile.her2}"
            + (f", BRCA {profile.biomarkers['brca']}" if drug.group == "parp" else "")
            + f"); its rules need: {rules}. Check the profile and the drug, or write "
            f"{{drug: {drug_id}, reason: trial}} or {{drug: {drug_id}, reason: off-label}} "
            "if the team chose it outside the usual rules")
    if problems:
        raise ProfileError(in_language(problems, profile.language))


def _rule_words(rule: dict[str, list[str]]) -> str:
    return ", ".join(f"{k} {'/'.join(v)}" for k, v in rule.items()) or "any profile"


# results a medicine can wait for: gene and protein tests, and whether HER2-negative is low
AWAITED = (*BIOMARKERS, "her2")


def _waits(u: PlannedUse) -> bool:
    """The use needs a test result the profile does not have yet."""
    return any(k in AWAITED for k, _ in u.conditions)


def _waits_for_test(d: PlannedDrug) -> bool:
    """Every use that fits needs a test result the profile does not have yet."""
    return bool(d.uses) and all(_waits(u) for u in d.uses)


def awaited_tests(d: PlannedDrug) -> tuple[Condition, ...]:
    """The test results every fitting use waits for (the label of a compact entry)."""
    if not _waits_for_test(d):
        return ()
    # a result every use waits for; the values any use accepts (HER2 low, or low or ultralow)
    keys = set.intersection(*({k for k, _ in u.conditions if k in AWAITED} for u in d.uses))
    out: dict[str, list[str]] = {}
    for u in d.uses:
        for key, values in u.conditions:
            if key in keys:
                out.setdefault(key, [])
                out[key] += [v for v in values if v not in out[key]]
    return tuple((key, tuple(values)) for key, values in out.items())


def _first_option(use: Use) -> bool:
    """A use that makes a drug one of the usual first medicines: first line, started at the
    outset (not maintenance) and approved in Canada for that use."""
    return (use.line == 1 and not use.maintenance
            and not (use.canada and use.canada.not_approved_as_of))


# Groups whose medicines go on from one line of stage IV treatment to the next: ovarian
# suppression had before is not over, it is given with each new hormone therapy.
CONTINUING_GROUPS = ("ovarian-suppression",)


def goes_on(d: PlannedDrug, profile: Profile) -> bool:
    return profile.stage == "IV" and d.item.group in CONTINUING_GROUPS


# Groups whose medicines, given now before or after surgery, are the whole of that course:
# another drug of the group for the same setting is an alternative the team did not choose.
COURSE_GROUPS = ("chemotherapy",)


def uses_for_now(d: PlannedDrug, profile: Profile) -> list[Any]:
    """A current drug given with others shows the uses that name the most of its current
    partners, given with it or before it (the KEYNOTE-522 use of carboplatin or of AC, not
    their other uses); otherwise all."""
    partners = set(profile.current_therapies) - {d.item.id}
    if not d.now or not partners:
        return list(d.uses)
    # most partners first; on a tie, the use with the narrower rule (the triple-negative
    # use of paclitaxel in KEYNOTE-522, not "it may follow AC")
    score = [(len(partners & (set(u.use.with_) | set(u.use.after_ids))), len(u.use.applies))
             for u in d.uses]
    best = max(score, default=(0, 0))
    return [u for u, n in zip(d.uses, score) if n == best] if best[0] else list(d.uses)


def _drop_uses(plan: Plan, eligible: Callable[[PlannedDrug], bool],
               keep: Callable[[PlannedUse], bool], why: str) -> None:
    """For each compact entry that `eligible` picks, keep the uses that `keep` allows; an
    entry left with none is left out, unless the rest of the booklet names the drug (a
    partner in the text of a medicine given now): then it keeps its entry."""
    drop: dict[str, PlannedDrug] = {}
    for d in plan.drugs:
        if d.now or d.had or d.chosen or d.full or not eligible(d):
            continue
        uses = [u for u in d.uses if keep(u)]
        if uses:
            d.uses = uses
        else:
            drop[d.item.id] = d
    while drop:
        rest = [t for where, t in plan.located_texts()
                if not any(where.startswith(f"drug {i} ") for i in drop)]
        named = set().union(*(plan.library.drugs_in(t) for t in rest)) & set(drop)
        if not named:
            break
        for i in named:  # named elsewhere: it keeps its entry, and is looked at again
            del drop[i]
    plan.notes += [f"{i} left out: {why}" for i in drop]
    plan.drugs = [d for d in plan.drugs if d.item.id not in drop]


def _drop_alternatives(plan: Plan) -> None:
    """Stages 0-III with chemotherapy given now (and the setting known): other chemotherapy
    uses for that same setting are left out. What may follow (capecitabine after surgery
    when cancer is left) stays."""
    profile = plan.profile
    if profile.stage not in ("0", "I", "II", "III") or len(profile.settings) != 1:
        return
    now = set(profile.current_groups) & set(COURSE_GROUPS)
    if not now:
        return
    setting = profile.settings[0]
    # a use that names no setting is for any time around surgery
    _drop_uses(plan, lambda d: d.item.group in now,
               lambda u: u.use.after_course
               or setting not in u.use.applies.get("setting", (setting,)),
               f"another chemotherapy drug for the {setting} setting, where the course "
               "given now is known")


def _drop_unapproved_now(plan: Plan) -> None:
    """With a treatment given now, a use not approved in Canada for this same point of care
    (stage IV first line while on a first treatment; the same setting around surgery) is an
    alternative the team did not choose: it is left out. Later uses stay."""
    profile = plan.profile
    if not profile.current_therapies:
        return
    if profile.stage == "IV":
        if profile.line != "first":
            return
        def same(u: PlannedUse) -> bool:
            return u.use.line == 1
    elif len(profile.settings) == 1:
        setting = profile.settings[0]
        def same(u: PlannedUse) -> bool:
            return setting in u.use.applies.get("setting", (setting,))
    else:
        return
    _drop_uses(plan, lambda d: True, lambda u: not (_unapproved(u) and same(u)),
               "its only use at this point of care is not approved in Canada, and a "
               "treatment is given now")


def _decide_cards(drugs: list[PlannedDrug], profile: Profile, all_medicines: bool) -> None:
    """Full cards for what the person gets now (or, with nothing current, the usual first
    options); one compact entry for everything else that fits."""
    for d in drugs:
        if all_medicines or d.now:
            d.full = True
        elif _waits_for_test(d):
            d.full = False  # a compact entry, labelled with the test it waits for
        elif d.had:
            d.full = False
        elif profile.current_therapies:
            d.full = False
        elif profile.stage == "IV" and profile.line == "first":
            d.full = any(_first_option(u.use) and not _waits(u) for u in d.uses)
        elif profile.stage == "IV":
            d.full = d.next_up
        else:
            d.full = False


# ---------------------------------------------------------------- the plan

def select(profile: Profile, lib: Library, all_medicines: bool = False) -> Plan:
    def groups(drugs: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(lib.drugs[d].group for d in drugs if d in lib.drugs))

    profile = replace(profile, current_groups=groups(profile.current_therapies),
                      prior_groups=groups(profile.prior_therapies))
    check_current(profile, lib)
    notes: list[str] = []
    if profile.stage == "IV" and profile.phase != "unknown":
        notes.append(f"phase '{profile.phase}' is ignored for stage IV; the line of treatment "
                     f"comes from prior and current therapies (line: {profile.line})")
    both = [d for d in profile.current_therapies if d in profile.prior_therapies]
    if both:
        notes.append(f"{', '.join(both)}: in both prior and current therapies; counted as now, "
                     "noted as had before")

    sections = []
    for step in lib.top_steps():
        result = match(step.applies, profile)
        if result.ok:
            sec = _section(step, lib, profile, result)
            if sec is not None:
                sections.append(sec)
            else:
                notes.append(f"section '{step.id}' left out: behind phase {care_phase(profile)}")
    number = 0
    for sec in sections:
        if sec.item.numbered:
            number += 1
            sec.number = number
    _cap_questions(sections, MAX_QUESTIONS_PER_STEP - 1 if profile.current_therapies
                   else MAX_QUESTIONS_PER_STEP)

    drugs = [p for p in (_drug(d, profile) for d in lib.drugs.values()) if p]
    # uses that need a partner (a GnRH agonist for a man with an aromatase inhibitor)
    present = {d.item.id for d in drugs}
    for d in drugs:
        d.uses = [u for u in d.uses if not u.use.needs or set(u.use.needs) & present]
    drugs = [d for d in drugs if d.uses or d.chosen]
    group_order = {g: n for n, g in enumerate(lib.groups)}
    # within a group: approved in Canada for this person first, then by line and name
    drugs.sort(key=lambda d: (group_order.get(d.item.group, 99), _not_in_canada(d), d.line,
                              d.item.name))
    _decide_cards(drugs, profile, all_medicines)
    for d in drugs:
        # a medicine waiting for a HER2-low result is described as it would be for that result
        her2 = next((c[1][0] for c in awaited_tests(d) if c[0] == "her2"), None)
        seen = replace(profile, her2=her2) if her2 else profile
        d.parts = {name: resolve(getattr(d.item, name), seen, lib) for name in DRUG_PARTS}
        group = lib.groups.get(d.item.group)
        if group is not None and group.call_now:
            extra = [t for t in resolve(group.call_now, profile, lib)
                     if t.text not in {x.text for x in d.parts["call_now"]}]
            d.parts["call_now"] = extra + d.parts["call_now"]
        if not d.parts["short"] or (d.had and not d.now and not d.full
                                    and not goes_on(d, profile)):
            # a medicine had before says what it is, not when it may be offered
            d.parts["short"] = d.parts["what"][:1]
        d.funding = [f for f in d.item.funding if match(f.applies, profile).ok]

    regimens = [Planned(lib.regimens[r], "named in current_therapies")
                for r in profile.regimens if r in lib.regimens]

    # A current drug shows the uses that fit the partners it is given with now.
    for d in drugs:
        d.uses = uses_for_now(d, profile)

    plan = Plan(profile, lib, sections, drugs, [], [], regimens, notes, all_medicines,
                province_program(profile, lib))
    _drop_alternatives(plan)
    if not all_medicines:
        _drop_unapproved_now(plan)
    plan.glossary = _glossary(plan, lib)
    plan.sources = _cited(plan)
    return plan


def _glossary(plan: Plan, lib: Library) -> list[Planned]:
    """Words to know: the glossary words this booklet uses, the most used first when there
    are more than fit in about three pages; shown in alphabetical order."""
    uses: dict[str, int] = {}
    for text in plan.texts():
        for term in lib.terms_in(text):
            uses[term] = uses.get(term, 0) + 1
    ranked = sorted(uses, key=lambda t: (-uses[t], lib.glossary[t].term.lower()))
    cap = MAX_GLOSSARY_HANDOUT if plan.profile.current_therapies else MAX_GLOSSARY
    keep = set(ranked[:cap])
    if len(ranked) > cap:
        plan.notes.append(f"glossary: {len(ranked)} words used, the {cap} most used "
                          f"shown; left out: {', '.join(sorted(set(ranked) - keep))}")
    return [Planned(t, f"the booklet uses '{t.term}' ({uses[t.id]} times)")
            for t in sorted(lib.glossary.values(), key=lambda t: t.term.lower())
            if t.id in keep]


def _cited(plan: Plan) -> list[str]:
    """Sources of what the booklet shows, in order of first use."""
    items: list[Any] = []
    for sec in plan.walk():
        # a step in short (ahead) or done (behind) form shows a paragraph: its main source
        items.append(sec.item if sec.mode == "full" else _Short(sec.item.sources[:1]))
    items += [r.item for r in plan.regimens]
    lib = plan.library
    for sec in plan.walk():
        items += [lib.snippets[t.ref] for t in sec.body if t.ref]
        items += [_Short(list(t.sources)) for t in sec.body if t.sources]
    for d in plan.drugs:
        if d.full or d.now:
            items.append(d.item)
            items += d.funding
            items += [_Short(list(t.sources)) for t in plan.card_program]
            items += [u.use.canada for u in d.uses if u.use.canada]
            items += [lib.snippets[t.ref] for part in d.parts.values() for t in part if t.ref]
            items += [_Short(list(t.sources)) for part in d.parts.values() for t in part
                      if t.sources]
        else:
            items.append(_Short(d.item.sources[:1]))
    items += [p.item for p in plan.standards + plan.questions + plan.glossary]
    cited: list[str] = []
    for item in items:
        refs = list(item.sources)
        if isinstance(item, Standard):
            refs.append(item.source)
        for ref in refs:
            if ref not in cited:
                cited.append(ref)
    return cited


@dataclass
class _Short:
    """A compact entry cites its drug's first (main) source."""

    sources: list[str]


__all__ = ["Plan", "Planned", "PlannedDrug", "PlannedSection", "PlannedUse", "Question",
           "Regimen", "Text", "resolve", "select"]
