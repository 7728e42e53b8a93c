"""Stage 3: turn a plan into the template context, in one function.

Everything the templates show is computed here: Markdown bodies to HTML, condition
labels, source numbers, dates in words. Templates only lay out what they are given.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from booklet import __version__
from booklet.rules import label
from booklet.select import Plan, Planned, PlannedDrug, PlannedSection

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


def long_date(day: dt.date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


GLANCE_TIMINGS = 4  # the "At a glance" page stays one page


@dataclass
class Options:
    """Choices that change the output but not the plan."""

    date: dt.date = field(default_factory=dt.date.today)
    paper: str = "letter"
    large_print: bool = False
    imposition: str = "none"  # or "booklet": half-size pages, imposed 2-up for saddle stitching
    name_in_metadata: bool = False
    clinic: Any = None  # booklet.clinic.Clinic


_MD: Any = None


def markdown(text: str) -> str:
    """CommonMark to HTML: no raw HTML, no images; tight lists stay free of <p>."""
    global _MD
    if _MD is None:
        from markdown_it import MarkdownIt

        _MD = MarkdownIt("commonmark", {"html": False}).disable(["image", "html_block", "html_inline"])
    return _MD.render(text)


def page_margin(options: Options) -> str:
    """Clear print: 60-70 characters a line at 13 pt means a 5.3 in text column; large print
    (18 pt) and half-size booklet pages use the page width and stay under 60."""
    if options.imposition == "booklet":
        return "0.55in 0.6in 0.7in 0.6in"
    if options.large_print:
        return "0.8in 1in 0.9in 1in" if options.paper == "letter" else "0.8in 0.9in 0.9in 0.9in"
    side = {"letter": "1.6in", "a4": "1.48in"}[options.paper]
    return f"0.8in {side} 0.9in {side}"


def build_context(plan: Plan, options: Options) -> dict[str, Any]:
    lib = plan.library
    ui = lib.ui
    profile = plan.profile
    numbers = {sid: n for n, sid in enumerate(plan.sources, 1)}

    def refs(item: Any) -> str:
        ids = list(item.sources)
        ids += [getattr(item, "source")] if hasattr(item, "source") else []
        return ", ".join(f"[{numbers[i]}]" for i in dict.fromkeys(ids) if i in numbers)

    def note(conditions: Any) -> str:
        text = label(conditions, lib.conditions)
        return ui["condition_note"].format(label=text) if text else ""

    def source_line(item: Any) -> str:
        return ui["item_sources"].format(refs=refs(item), date=long_date(item.reviewed))

    def planned(p: Planned) -> dict[str, Any]:
        return {"id": p.item.id, "text": p.item.text,
                "condition": label(p.conditions, lib.conditions), "refs": refs(p.item)}

    def standard(p: Planned) -> dict[str, Any]:
        src = lib.sources[p.item.source]
        return {**planned(p), "source": ui["standard_source"].format(
            source=f"{src.publisher}, {src.year or ui['source_year_unknown']}",
            where=p.item.where).replace(", .", ".")}

    def section(sec: PlannedSection, level: int) -> dict[str, Any]:
        step = sec.item
        questions = [planned(q) for q in sec.questions]
        if level == 2:  # one tick-box list at the end of each step, sub-sections included
            for child in sec.walk_children():
                for q in child.questions:
                    item = planned(q)
                    if not item["condition"]:
                        item["condition"] = label(child.conditions, lib.conditions)
                    questions.append(item)
        return {
            "id": f"step-{step.id}",
            "number": sec.number,
            "title": step.title,
            "heading": (ui["step"].format(n=sec.number) + ": " if sec.number else "") + step.title,
            "level": level,
            "summary": step.summary,
            "condition": note(sec.conditions),
            "body": markdown(step.body),
            "standards": [standard(s) for s in sec.standards],
            "questions": questions if level == 2 else [],
            "children": [section(c, level + 1) for c in sec.children],
            "insert": step.insert,
            "sources": source_line(step),
        }

    def drug(d: PlannedDrug) -> dict[str, Any]:
        item = d.item
        uses = []
        for u in d.uses:
            line = ui["lines"][u.use.line] if u.use.line else ""
            partners = [lib.drugs[w].name for w in u.use.with_ if w in lib.drugs]
            uses.append({
                "condition": label(u.conditions, lib.conditions),
                "line": line,
                "text": u.use.text,
                "with": ui["given_with"].format(drugs=", ".join(partners)) if partners else "",
            })
        funding_date = (ui["funding_as_of"].format(date=long_date(item.funding.as_of))
                        if item.funding.as_of else ui["funding_no_date"])
        return {
            "id": f"drug-{item.id}",
            "name": item.name,
            "brands": ui["brands"].format(brands=", ".join(item.brands)) if item.brands else "",
            "status": ui["had_before"] if d.had else ui["next_up"] if d.next_up else "",
            "condition": note(d.conditions),
            "what": item.what,
            "uses": uses,
            "line": ui["lines"][d.line] if d.line in (1, 2, 3) else ui["lines"]["any"],
            "given": item.given,
            "side_effects": item.side_effects,
            "call_now": item.call_now,
            "monitoring": item.monitoring,
            "tips": item.tips,
            "funding": item.funding.text,
            "funding_date": funding_date,
            "sources": source_line(item),
        }

    groups = [{"title": g.title, "intro": g.intro, "drugs": [drug(d) for d in members]}
              for g, members in plan.drug_groups()]
    diagnosis = ui["diagnosis"]
    subtitle_parts = [diagnosis["stage"][profile.stage]]
    if profile.stage != "0" or profile.hr != "unknown":
        subtitle_parts.append(diagnosis["hr"][profile.hr])
    if profile.stage != "0":
        subtitle_parts.append(diagnosis["her2"][profile.her2])
    subtitle = ", ".join(subtitle_parts)

    care = [{"role": ui["roles"][k], "name": profile.care_team.get(k, "") if k != "phone" else "",
             "phone": profile.care_team.get("phone", "") if k == "clinic" else ""}
            for k in ("clinic", "oncologist", "nurse")]
    care += [{"role": ui["roles"][k], "name": "", "phone": ""}
             for k in ("family_doctor", "pharmacist", "navigator", "after_hours")]
    if profile.care_team.get("clinic"):
        care[0]["name"] = profile.care_team["clinic"]

    title = ui["title"]
    description = f"{ui['subject']} {subtitle}."
    keywords = ui["keywords"]
    author = ""
    if options.name_in_metadata and profile.name:
        title = f"{title} - {profile.name}"

    sources = []
    for sid in plan.sources:
        src = lib.sources[sid]
        # The site, not the whole address: enough to find the source, and 10 fewer pages.
        address = re.sub(r"^https?://(www\.)?", "", src.url).split("/")[0]
        sources.append({"n": numbers[sid], "title": src.title, "publisher": src.publisher,
                        "year": src.year or ui["source_year_unknown"], "url": address})

    clinic = options.clinic
    phone = profile.care_team.get("phone") or (clinic.day_phone if clinic else "")
    if clinic:
        care[0]["name"] = care[0]["name"] or clinic.name
        care[0]["phone"] = care[0]["phone"] or clinic.day_phone
        care[-1]["phone"] = clinic.after_hours_phone
    glance = {
        "diagnosis": subtitle,
        "next": [s.item.title for s in plan.sections if s.number],
        "timings": list(dict.fromkeys(p.item.text for p in plan.standards))[:GLANCE_TIMINGS],
        "phone": ui["glance_phone"].format(phone=phone) if phone else "",
        "after_hours": (ui["glance_after_hours"].format(phone=clinic.after_hours_phone)
                        if clinic and clinic.after_hours_phone else ""),
        "clinic_words": clinic.when_to_call if clinic else "",
        "urgent": [s.item.glance for s in plan.walk() if s.item.glance],
    }

    return {
        "lang": lib.language,
        "link_stylesheet": True,
        "glance": glance,
        "clinic": None if clinic is None else {
            "name": clinic.name, "address": clinic.address,
            "logo": clinic.logo.as_uri() if clinic.logo else "", "logo_alt": clinic.logo_alt},
        "ui": ui,
        "title": title,
        "heading": ui["title"],
        "subtitle": subtitle,
        "description": description,
        "keywords": keywords,
        "author": author,
        "created": options.date.isoformat() + "T00:00:00Z",
        "name": profile.name or "",
        "made_for": ui["made_for"].format(name=profile.name) if profile.name else "",
        "printed_on": ui["printed_on"].format(date=long_date(options.date)),
        "page_size": ({"letter": "5.5in 8.5in", "a4": "A5"} if options.imposition == "booklet"
                      else {"letter": "letter", "a4": "A4"})[options.paper],
        "page_margin": page_margin(options),
        "large_print": options.large_print,
        "footer_size": "14pt" if options.large_print else "10pt",
        "version": __version__,
        "footer": ui["footer_version"].format(version=__version__),
        "care_team": care,
        "sections": [section(s, 2) for s in plan.sections],
        "groups": groups,
        "glossary": [{"term": t.item.term, "definition": t.item.definition}
                     for t in plan.glossary],
        "sources": sources,
    }
