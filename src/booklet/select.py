"""Stage 2: select what a profile's booklet holds, with the reason for each inclusion.

The plan is plain data (no rendering): ordered sections with their sub-sections, drugs
grouped by role and line, standards, questions, glossary terms and sources. Every entry
carries `why` (the rule it matched, in words) and `conditions` (what the profile did not
say, so the booklet labels the content "If ...").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from booklet.content import Drug, Library, Question, Standard, Step, Use, item_text
from booklet.profile import Profile
from booklet.rules import Condition, Match, describe, match


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

    @property
    def line(self) -> int:
        lines = [u.use.line for u in self.uses if u.use.line is not None]
        return min(lines) if lines else 9

    @property
    def next_up(self) -> bool:
        return not self.had and any(u.next_up for u in self.uses)


@dataclass
class PlannedSection(Planned):
    children: list[PlannedSection] = field(default_factory=list)
    standards: list[Planned] = field(default_factory=list)
    questions: list[Planned] = field(default_factory=list)
    number: int | None = None

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

    @property
    def standards(self) -> list[Planned]:
        return [s for sec in self.walk() for s in sec.standards]

    @property
    def questions(self) -> list[Planned]:
        return [q for sec in self.walk() for q in sec.questions]

    def walk(self) -> list[PlannedSection]:
        """Every section, depth first, in reading order."""
        return [s for sec in self.sections for s in (sec, *sec.walk_children())]

    def drug_groups(self) -> list[tuple[Any, list[PlannedDrug]]]:
        groups = []
        for group in self.library.groups.values():
            members = [d for d in self.drugs if d.item.group == group.id]
            if members:
                groups.append((group, sorted(members, key=lambda d: (d.line, d.item.name))))
        return groups

    def to_json(self) -> dict[str, Any]:
        def cond(p: Planned) -> dict[str, Any]:
            return {"conditions": [{"field": k, "values": list(v)} for k, v in p.conditions]}

        return {
            "profile": self.profile.to_dict(),
            "sections": [{"id": s.item.id, "title": s.item.title, "why": s.why,
                          "parent": s.item.parent, **cond(s)} for s in self.walk()],
            "drugs": [{"id": d.item.id, "name": d.item.name, "group": d.item.group,
                       "line": None if d.line == 9 else d.line, "why": d.why,
                       "had": d.had, "next": d.next_up, **cond(d)} for d in self.drugs],
            "standards": [{"id": s.item.id, "text": s.item.text, "why": s.why, **cond(s)}
                          for s in self.standards],
            "questions": [{"id": q.item.id, "text": q.item.text, "why": q.why, **cond(q)}
                          for q in self.questions],
            "glossary": [{"id": t.item.id, "term": t.item.term, "why": t.why} for t in self.glossary],
            "sources": self.sources,
        }


def _planned(item: Any, profile: Profile) -> Planned | None:
    result = match(item.applies, profile)
    if not result.ok:
        return None
    return Planned(item, describe(item.applies, profile, result), result.conditions)


def _section(step: Step, lib: Library, profile: Profile, result: Match) -> PlannedSection:
    sec = PlannedSection(step, describe(step.applies, profile, result), result.conditions)
    sec.standards = [p for p in (_planned(lib.standards[i], profile) for i in step.standards) if p]
    sec.questions = [p for p in (_planned(lib.questions[i], profile) for i in step.questions) if p]
    for child in lib.children(step.id):
        r = match(child.applies, profile)
        if r.ok:
            sec.children.append(_section(child, lib, profile, r))
    return sec


def _drug(drug: Drug, profile: Profile) -> PlannedDrug | None:
    uses = []
    reasons = []
    for use in drug.uses:
        result = match(use.applies, profile)
        if not result.ok:
            continue
        uses.append(PlannedUse(use, result.conditions, use.follows(profile.prior_therapies)))
        reasons.append(describe(use.applies, profile, result))
    if not uses:
        return None
    certain = [u for u in uses if not u.conditions]
    # The drug as a whole is conditional only if every fitting use is.
    conditions = () if certain else uses[0].conditions
    why = " | ".join(dict.fromkeys(reasons))
    return PlannedDrug(drug, why, conditions, uses=uses, had=drug.id in profile.prior_therapies)


def select(profile: Profile, lib: Library) -> Plan:
    sections = []
    for step in lib.top_steps():
        result = match(step.applies, profile)
        if result.ok:
            sections.append(_section(step, lib, profile, result))
    number = 0
    for sec in sections:
        if sec.item.numbered:
            number += 1
            sec.number = number

    drugs = [p for p in (_drug(d, profile) for d in lib.drugs.values()) if p]
    group_order = {g: n for n, g in enumerate(lib.groups)}
    drugs.sort(key=lambda d: (group_order.get(d.item.group, 99), d.line, d.item.name))

    plan = Plan(profile, lib, sections, drugs, [], [])
    texts = [t for sec in plan.walk() for t in item_text(sec.item)]
    texts += [t for d in drugs for t in item_text(d.item, [u.use for u in d.uses])]
    texts += [p.item.text for p in plan.standards + plan.questions]
    used: set[str] = set()
    for text in texts:
        used |= lib.terms_in(text)
    plan.glossary = [Planned(t, f"the booklet uses '{t.term}'")
                     for t in sorted(lib.glossary.values(), key=lambda t: t.term.lower())
                     if t.id in used]

    cited: list[str] = []
    for item in [s.item for s in plan.walk()] + [d.item for d in drugs] + \
            [p.item for p in plan.standards + plan.questions + plan.glossary]:
        refs = list(item.sources)
        if isinstance(item, Standard):
            refs.append(item.source)
        if isinstance(item, Drug):
            refs += item.funding.sources
        for ref in refs:
            if ref not in cited:
                cited.append(ref)
    plan.sources = cited
    return plan


__all__ = ["Plan", "Planned", "PlannedDrug", "PlannedSection", "PlannedUse", "Question", "select"]
