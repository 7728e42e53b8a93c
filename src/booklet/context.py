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
from booklet.profile import Profile
from booklet.rules import label
from booklet.select import (Plan, Planned, PlannedDrug, PlannedSection, awaited_tests, goes_on,
                            resolve, uses_for_now)

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


def _long_date(day: dt.date, months: Any = MONTHS) -> str:
    """4 December 2026; in French 4 décembre 2026 (ui.yaml `months`)."""
    return f"{day.day} {months[day.month - 1]} {day.year}"


long_date = _long_date

GLANCE_TIMINGS = 2  # the "At a glance" page stays one page
GLANCE_SIGNS = 3


@dataclass
class Options:
    """Choices that change the output but not the plan."""

    date: dt.date = field(default_factory=dt.date.today)
    paper: str = "letter"
    large_print: bool = False
    imposition: str = "none"  # or "booklet": half-size pages, imposed 2-up for saddle stitching
    name_in_metadata: bool = False
    clinic: Any = None  # booklet.clinic.Clinic
    all_medicines: bool = False  # a full card for every medicine that fits (the reference)


_MD: Any = None


def markdown(text: str) -> str:
    """CommonMark to HTML: no raw HTML, no images; tight lists stay free of <p>."""
    global _MD
    if _MD is None:
        from markdown_it import MarkdownIt

        _MD = MarkdownIt("commonmark", {"html": False}).disable(["image", "html_block", "html_inline"])
    return _MD.render(text)


def _footer(plan: Plan, ui: dict[str, Any], months: Any) -> str:
    """When the content shown was last reviewed: the month of the oldest and newest review
    date of the items in the booklet ("Content reviewed: December 2026")."""
    dates = [s.item.reviewed for s in plan.walk()] + [d.item.reviewed for d in plan.drugs]
    if not dates:
        return ""
    first, last = min(dates), max(dates)
    name = lambda d: f"{months[d.month - 1]} {d.year}"  # noqa: E731
    span = name(last) if (first.year, first.month) == (last.year, last.month) else \
        ui["footer_span"].format(first=name(first), last=name(last))
    return ui["footer_checked"].format(months=span)


def page_margin(options: Options) -> str:
    """Clear print: 60-70 characters a line at 13 pt means a text column of about 6 in
    (6.1 in on Letter, 6.0 in on A4); large print (18 pt) and half-size booklet pages use
    the page width and stay under 60. The footer sits in the 0.8 in bottom margin."""
    if options.imposition == "booklet":
        return "0.55in 0.6in 0.7in 0.6in"
    if options.large_print:
        return "0.8in 1in 0.9in 1in" if options.paper == "letter" else "0.8in 0.9in 0.9in 0.9in"
    side = {"letter": "1.2in", "a4": "1.13in"}[options.paper]
    return f"0.7in {side} 0.8in {side}"


def build_context(plan: Plan, options: Options) -> dict[str, Any]:
    lib = plan.library
    ui = lib.ui
    months = ui.get("months", MONTHS)

    def long_date(day: dt.date) -> str:  # noqa: F811 - the booklet's language
        return _long_date(day, months)
    profile = plan.profile
    paying = plan.paying_section  # the id of the section on paying, where drug cards point
    program = plan.card_program  # else the province drug program, said on each card
    # Sources are numbered by publisher: one short numbered entry per publisher.
    publishers: dict[str, list[str]] = {}
    for sid in plan.sources:
        publishers.setdefault(_publisher(lib.sources[sid].publisher), []).append(sid)
    numbers = {sid: n for n, ids in enumerate(publishers.values(), 1) for sid in ids}

    def refs(item: Any, extra: Any = ()) -> str:
        ids = list(item.sources) + list(extra)
        ids += [getattr(item, "source")] if hasattr(item, "source") else []
        cited = sorted({numbers[i] for i in ids if i in numbers})
        return ", ".join(f"[{n}]" for n in cited)

    def note(conditions: Any) -> str:
        text = label(conditions, lib.conditions)
        return ui["condition_note"].format(label=text) if text else ""

    def source_line(item: Any, extra: Any = ()) -> str:
        return ui["item_sources"].format(refs=refs(item, extra), date=long_date(item.reviewed))

    def planned(p: Planned) -> dict[str, Any]:
        return {"id": p.item.id, "text": p.item.text,
                "condition": label(p.conditions, lib.conditions), "refs": refs(p.item)}

    def standard(p: Planned) -> dict[str, Any]:
        src = lib.sources[p.item.source]
        kind = p.item.kind
        return {**planned(p), "label": ui.get(f"standard_label_{kind}", ui["standard_label"]),
                "source": ui["standard_source"].format(
            source=f"{src.publisher}, {src.year or ui['source_year_unknown']}",
            where=p.item.where).replace(", .", ".")}

    def body_html(sec: PlannedSection) -> str:
        parts = []
        for t in sec.body:
            cond = label(t.conditions, lib.conditions)
            if cond:
                parts.append(f'<div class="condition-block">{markdown("**" + cond + ":**")}'
                             f"{markdown(t.text)}</div>")
            else:
                parts.append(markdown(t.text))
        # a list whose items carry their own rules is one list again
        return re.sub(r"</ul>\s*<ul>", "", "".join(parts))

    def section(sec: PlannedSection, level: int) -> dict[str, Any]:
        step = sec.item
        questions = [planned(q) for q in sec.questions]
        short = sec.mode != "full"
        return {
            "id": f"step-{step.id}",
            "number": sec.number,
            "title": step.title,
            "heading": (ui["step"].format(n=sec.number) + ": " if sec.number else "") + step.title,
            "level": level,
            "mode": sec.mode,
            "safety": step.safety,
            "mode_note": (step.done_label or ui["mode_done"]) if sec.mode == "done"
            else (step.ahead_label or ui["mode_ahead"]) if short else "",
            "summary": step.done if sec.mode == "done" else step.summary,
            "condition": note(sec.conditions),
            "body": "" if short else body_html(sec),
            "standards": [] if short else [standard(s) for s in sec.standards],
            "questions": questions if level == 2 and not short else [],
            "first_questions": False,
            "children": [section(c, level + 1) for c in sec.children],
            "insert": None if short else step.insert,
            "sources": source_line(step, [c for t in sec.body for c in t.sources]
                                   + [c for t in sec.body if t.ref
                                      for c in lib.snippets[t.ref].sources]),
        }

    def joined(texts: list[Any]) -> str:
        """A paragraph from fitting pieces; a conditional piece carries its "If ..." label."""
        out = []
        for t in texts:
            cond = label(t.conditions, lib.conditions)
            out.append(f"{cond}: {t.text}" if cond else t.text)
        return " ".join(out)

    def listed(texts: list[Any]) -> list[dict[str, str]]:
        return [{"condition": label(t.conditions, lib.conditions), "text": t.text} for t in texts]

    def funding_lines(d: PlannedDrug) -> list[str]:
        out = []
        for f in d.funding:
            out.append(f.text + (" " + ui["funding_as_of"].format(date=long_date(f.as_of))
                                 if f.as_of else ""))
        return out

    def canada_line(use: Any, now: bool = False) -> str:
        c = use.canada
        if c is None:
            return ""
        if c.approved:
            return ui["canada_approved"].format(date=long_date(c.approved))
        # a medicine the team has already chosen: no "get it another way" advice
        key = "canada_not_approved_now" if now else "canada_not_approved"
        return ui[key].format(date=long_date(c.not_approved_as_of))

    def compact_canada(d: PlannedDrug) -> str:
        """A compact entry says when no use that fits is approved in Canada."""
        status = [u.use.canada for u in d.uses]
        if d.uses and all(c is not None and c.not_approved_as_of for c in status):
            day = max(c.not_approved_as_of for c in status)
            return " " + ui["canada_not_approved_short"].format(date=long_date(day))
        return ""

    def line_label(d: PlannedDrug) -> str:
        if d.now:
            return ui["status_now"]
        if d.had:
            return ui["status_had"]
        if profile.line == "later":
            return ui["next_up_short"] if d.next_up else ui["lines"]["any"]
        return ui["lines"][d.line] if d.line in (1, 2, 3) else ui["lines"]["any"]

    def use_row(u: Any, d: PlannedDrug) -> dict[str, str]:
        # past first line, a use's "first treatment" label would mislead
        shown_line = u.use.line if not (profile.line == "later" and u.use.line == 1) else None
        partners = _partners(u.use, d, profile, lib)
        return {
            "condition": label(u.conditions, lib.conditions),
            "line": ui["lines"][shown_line] if shown_line else "",
            "text": u.use.text,
            "with": ui["given_with"].format(drugs=", ".join(partners)) if partners else "",
            "canada": canada_line(u.use, d.now),
        }

    def drug(d: PlannedDrug) -> dict[str, Any]:
        item = d.item
        # a medicine the team chose outside the usual rules says so instead of its uses
        shown_uses = [] if d.chosen else list(uses_for_now(d, profile))
        uses = ([{"condition": "", "line": "", "text": ui["team_chose"][d.chosen], "with": "",
                  "canada": ""}] if d.chosen else [use_row(u, d) for u in shown_uses])
        # a card cites what it shows: its own sources, and those of each funding sentence,
        # Health Canada status and piece it prints
        extra = [s for f in d.funding for s in f.sources]
        extra += [s for texts in d.parts.values() for t in texts for s in t.sources]
        extra += [s for texts in d.parts.values() for t in texts if t.ref
                  for s in lib.snippets[t.ref].sources]
        extra += [s for u in shown_uses if u.use.canada for s in u.use.canada.sources]
        extra += [s for t in program for s in t.sources]
        status = []
        if d.now and d.had:
            status.append(ui["now_and_had"])
        elif d.had:
            status.append(ui["had_goes_on"] if goes_on(d, profile) else ui["had_before"])
        elif d.next_up:
            status.append(ui["next_up"])
        group = lib.groups.get(item.group)
        group_title = group.title_for(profile.sex) if group else ""
        return {
            "id": f"drug-{item.id}",
            "name": item.name,
            "brands": ui["brands"].format(brands=", ".join(item.brands)) if item.brands else "",
            "brand_list": ", ".join(item.brands),
            "group": group_title,
            "status": " ".join(status),
            "condition": note(d.conditions) if not d.now else "",
            "what": joined(d.parts["what"]),
            "short": joined(d.parts["short"]) + compact_canada(d),
            "waits": label(awaited_tests(d), lib.conditions),
            "uses": uses,
            "line": line_label(d),
            "given": joined(d.parts["given"]),
            "side_effects": listed(d.parts["side_effects"]),
            "call_now": listed(d.parts["call_now"]),
            "monitoring": listed(d.parts["monitoring"]),
            "tips": listed(d.parts["tips"]),
            "call_now_shared": False,  # set when a shared box holds some of them
            "tips_shared": False,
            "funding": funding_lines(d) + [t.text for t in program],
            "funding_none": ui["funding_see_section"] if paying else ui["funding_ask"],
            "paying_id": paying,
            "sources": source_line(item, extra),
        }

    def regimen(r: Any) -> dict[str, Any]:
        parts = []
        for part in r.parts:
            names = ", ".join(lib.drugs[x].name for x in part.drugs if x in lib.drugs)
            cycle = (ui["cycle_days"].format(n=part.cycle_days) if part.cycle_days
                     else ui["cycle_daily"])
            count = (ui["cycle_count"].format(n=part.cycles) if part.cycles
                     else ui["cycle_ongoing"])
            parts.append({"name": part.name, "drugs": names, "cycle": cycle, "count": count,
                          "days": part.days, "visit": part.visit, "starts": part.starts})
        return {"id": f"regimen-{r.id}", "title": r.title,
                "has_visit": any(p["visit"] for p in parts),
                "what": joined(resolve(r.what, profile, lib)), "parts": parts,
                "sources": source_line(r)}

    sex = profile.sex
    groups = [{"title": g.title_for(sex),
               "intro": joined(resolve(g.intro_for(sex), profile, lib)),
               "drugs": [drug(d) for d in members]}
              for g, members in plan.drug_groups("full")]
    compact = [{"title": g.title_for(sex), "drugs": [drug(d) for d in members]}
               for g, members in plan.drug_groups("compact")]
    # the heading says "you have had", so an entry does not say it again
    had = [dict(drug(d), status="") for _, members in plan.drug_groups("had") for d in members]
    # the "ask about a trial" advice once, above the entries, when any entry needs it
    compact_note = ui["later_not_approved"] if any(
        compact_canada(d) for _, members in plan.drug_groups("compact") for d in members) else ""
    current = [drug(d) for d in plan.current]
    shared = _shared_items(current)
    overview = [{"title": g.title_for(sex), "drugs": [
        {"id": f"drug-{d.item.id}", "name": d.item.name, "line": line_label(d)}
        for d in members]} for g, members in plan.drug_groups()]
    if plan.current:
        overview = []  # "Your treatment now" and the short list of later medicines say it
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
    for n, (publisher, ids) in enumerate(publishers.items(), 1):
        years = sorted({lib.sources[sid].year for sid in ids if lib.sources[sid].year})
        span = (f"{years[0]}" if len(years) == 1 else
                ui["sources_years"].format(first=years[0], last=years[-1])) if years else ""
        if len(ids) == 1:
            src = lib.sources[ids[0]]
            short = src.short or _short_title(src.title)
            for name in (publisher, src.publisher):  # "Health Canada: Health Canada: ..." reads twice
                if name and short.startswith(name + ": "):
                    short = short[len(name) + 2:]
            works = short + (f" ({span})" if span else "")
        else:
            works = ui["sources_count"].format(n=len(ids)) + (f" ({span})" if span else "")
        shown = ui.get("publishers", {}).get(publisher, publisher)  # its name in French
        sources.append({"n": n, "publisher": shown or ui["sources_papers"], "works": works})

    clinic = options.clinic
    phone = profile.care_team.get("phone") or (clinic.day_phone if clinic else "")
    if clinic:
        care[0]["name"] = care[0]["name"] or clinic.name
        care[0]["phone"] = care[0]["phone"] or clinic.day_phone
        care[-1]["phone"] = clinic.after_hours_phone
    steps = [s for s in plan.sections if s.number]
    here = _here(plan)
    # before the first dose, the reader is about to start the step, not in it yet
    starts = plan.profile.start_date
    here_label = ui["glance_you_start_here"].format(date=long_date(starts)) \
        if starts and starts > options.date else ui["glance_you_are_here"]
    path = [{"n": s.number, "title": s.item.title, "here": s is here,
             "done": s.mode == "done"} for s in steps]
    path_alt = ui["glance_path_alt"].format(
        steps="; ".join(f"{ui['step'].format(n=p['n'])}: {p['title']}"
                        + (f" ({here_label})" if p["here"] else "")
                        + (f" ({ui['glance_done']})" if p["done"] else "") for p in path))
    glance = {
        "diagnosis": subtitle,
        "next": [s.item.title for s in steps],
        "path": path,
        "here_label": here_label,
        "path_alt": path_alt,
        "path_svg": _path_svg(path, ui),
        "medicines": [d.item.name for d in plan.current],
        "regimens": [r.item.title for r in plan.regimens],
        "signs": _glance_signs(plan),
        "timings": list(dict.fromkeys(p.item.text for p in plan.standards))[:GLANCE_TIMINGS],
        "phone": ui["glance_phone"].format(phone=phone) if phone else "",
        "after_hours": (ui["glance_after_hours"].format(phone=clinic.after_hours_phone)
                        if clinic and clinic.after_hours_phone else ""),
        "clinic_words": clinic.when_to_call if clinic else "",
        "urgent": _glance_urgent(plan),
    }

    return {
        "lang": {"fr": "fr-CA"}.get(lib.language, lib.language),
        "page_counter": _page_counter(ui["page_of"]),
        "link_stylesheet": True,
        "glance": glance,
        "clinic": None if clinic is None else {
            "name": clinic.name, "address": clinic.address,
            "logo": clinic.logo.as_uri() if clinic.logo else "",
            # the clinic's name follows the logo: alt text that repeats it is left empty
            # (decoration), so a screen reader does not read the name twice
            "logo_alt": "" if clinic.name.casefold() in clinic.logo_alt.casefold() else clinic.logo_alt},
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
        "footer_size": "16pt" if options.large_print else "12pt",  # page numbers are read too
        "version": __version__,
        "footer": _footer(plan, ui, months),
        "care_team": care,
        "sections": _first_questions([section(s, 2) for s in plan.sections]),
        "groups": groups,
        "compact": compact,
        "had": had,
        "compact_note": compact_note,
        "current": current,
        "shared": shared,
        "overview": overview,
        "regimens": [regimen(r.item) for r in plan.regimens],
        "calendar": _calendar(plan, ui),
        "my_medicines": [{"name": d.item.name, "what_for": lib.groups[d.item.group].purpose_for(sex)
                          if d.item.group in lib.groups else ""} for d in plan.current],
        "all_medicines": plan.all_medicines,
        "later_line": profile.line == "later",
        "paying_id": paying,
        "glossary": [{"term": t.item.term,
                      "definition": joined(resolve(t.item.definition, profile, lib))}
                     for t in plan.glossary],
        "sources": sources,
    }


# Former and alternative names of one organisation, so its pages share one printed entry.
_SAME_ORGANISATION = {
    "Cancer Care Ontario": "Ontario Health (Cancer Care Ontario)",
    "CADTH": "Canada's Drug Agency (CDA-AMC)",
    "CADTH pan-Canadian Oncology Drug Review": "Canada's Drug Agency (CDA-AMC)",
    "Canada's Drug Agency": "Canada's Drug Agency (CDA-AMC)",
    "Alberta Health Services (MyHealth Alberta)": "Alberta Health Services",
    "Alberta Health Services (MyHealth.Alberta.ca)": "Alberta Health Services",
    "Alberta Health Services (Cancer Care Alberta)": "Alberta Health Services",
    "Canada's Drug Agency (CDA-AMC, formerly CADTH)": "Canada's Drug Agency (CDA-AMC)",
    "CADTH pan-Canadian Oncology Drug Review Expert Review Committee":
        "Canada's Drug Agency (CDA-AMC)",
    "Breast Cancer Now (Breast Cancer Care)": "Breast Cancer Now",
    "U.S. National Library of Medicine (MedlinePlus)": "U.S. National Library of Medicine",
    "U.S. National Library of Medicine (DailyMed)": "U.S. National Library of Medicine",
    "MedlinePlus": "U.S. National Library of Medicine",
    "Pocketpills": "PocketPills",
    "Novartis Canada": "Novartis Pharmaceuticals Canada",
    "College of Family Physicians of Canada (Canadian Family Physician)":
        "College of Family Physicians of Canada",
}
# A paper's authors ("Jerzak KJ, et al.") or a journal: listed together as research papers.
_PAPER = re.compile(r"^[A-Z][A-Za-z'-]+ [A-Z]{1,3}\b|et al\.|colleagues|investigators|"
                    r"Journal|Lancet|Annals|Current Oncology|Insights into Imaging|"
                    r"Breast Cancer Research")


def _first_questions(sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """How to use the tick boxes is said once, in the first list of questions."""
    for sec in sections:
        if sec["questions"]:
            sec["first_questions"] = True
            break
    return sections


def _page_counter(pattern: str) -> str:
    """'Page {page} of {pages}' as CSS content: "Page " counter(page) " of " counter(pages)."""
    parts = re.split(r"(\{page\}|\{pages\})", pattern)
    css = []
    for part in parts:
        if part == "{page}":
            css.append("counter(page)")
        elif part == "{pages}":
            css.append("counter(pages)")
        elif part:
            css.append('"' + part.replace("\\", "").replace('"', "") + '"')
    return " ".join(css)


def _publisher(name: str) -> str:
    """One entry per organisation: 'Ontario Health (Cancer Care Ontario)' and its formulary
    pages group together; a joint publication goes under its first publisher; papers and
    journals share one entry ("" here, named by the interface strings)."""
    name = " ".join(name.split())
    if _PAPER.search(name):
        return ""
    name = re.sub(r"\s*\((via|copy on|now|news release|published by)\b[^)]*\)", "", name)
    first = re.split(r"\s+and\s+|;\s*|,\s+(?=[A-Z])", name)[0]
    if first.count("(") == first.count(")") and first not in ("U.S. Food",):
        name = first
    name = re.sub(r"\s*\((Drug and Health Product Portal|copy[^)]*|Canadian pharmacy[^)]*)\)$",
                  "", name)
    return _SAME_ORGANISATION.get(name, name)


def _short_title(title: str, limit: int = 48) -> str:
    title = re.split(r"\s+[-|–—]\s+|:\s|\s\(", title)[0].strip().rstrip(".")
    if len(title) <= limit:
        return title
    return title[: limit - 1].rsplit(" ", 1)[0] + "…"


def _here(plan: Plan) -> PlannedSection | None:
    """The step the person is at now, when the profile says."""
    steps = [s for s in plan.sections if s.number]
    from booklet.select import care_phase

    phase = care_phase(plan.profile)
    if phase == "unknown":
        return None
    here = [s for s in steps if s.mode == "full" and phase in s.item.phases]
    # a step that says it is the marker for this phase; else the step most specific to the
    # phase (surgery spans several; after-surgery medicines one)
    named = [s for s in here if phase in s.item.here]
    return (named or [min(here, key=lambda s: len(s.item.phases))])[0] if here else None


def _path_svg(path: list[dict[str, Any]], ui: dict[str, Any]) -> str:
    """The steps as a simple path of dots; the current one is larger and labelled."""
    if not path:
        return ""
    row = 34  # one list row (1.55em) = 34 units
    height = row * len(path)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="28" height="{height}" '
           f'viewBox="0 0 28 {height}">']
    out.append(f'<line x1="14" y1="17" x2="14" y2="{height - 17}" stroke="#0a2540" '
               'stroke-width="3"/>')
    for n, p in enumerate(path):
        y = 17 + n * row
        if p["here"]:
            out.append(f'<circle cx="14" cy="{y}" r="11" fill="#8a1c1c"/>')
        elif p["done"]:
            out.append(f'<circle cx="14" cy="{y}" r="7" fill="#0a2540"/>')
        else:
            out.append(f'<circle cx="14" cy="{y}" r="7" fill="#fff" stroke="#0a2540" '
                       'stroke-width="3"/>')
    out.append("</svg>")
    import base64

    return "data:image/svg+xml;base64," + base64.b64encode("".join(out).encode()).decode()


def _holds_fever_rule(pieces: Any) -> bool:
    """True when these pieces (a step's body, a card's "call now" list) carry the fever rule."""
    return any(t.ref == "fever-rule" for t in pieces)


def _fever_text(plan: Plan) -> str | None:
    """The one fever rule, word for word (None when the library has none)."""
    fever = plan.library.snippets.get("fever-rule")
    return " ".join(fever.text.split()) if fever is not None else None


def _glance_signs(plan: Plan) -> list[str]:
    """The most important "call now" signs for the current medicines: the fever rule first
    whenever a current medicine carries it (every chemotherapy does), then the first sign of
    each current medicine in turn (hormone therapy last), three in all."""
    signs: list[str] = []
    fever = _fever_text(plan)
    current = sorted(plan.current, key=lambda d: d.item.group in ("hormonal", "ovarian-suppression"))
    if fever is not None and any(_holds_fever_rule(d.parts.get("call_now", [])) for d in current):
        signs = [fever]
    lists = [[t.text for t in d.parts.get("call_now", []) if not t.conditions and not t.ref]
             for d in current]
    for n in range(max((len(x) for x in lists), default=0)):
        for items in lists:
            if n < len(items) and items[n] not in signs and len(signs) < GLANCE_SIGNS:
                signs.append(items[n])
    return signs[:GLANCE_SIGNS]


def _glance_urgent(plan: Plan) -> list[str]:
    """The "call now" list of At a glance: the current medicines' most important signs
    (fever first), then the steps' own "get help right away" words; three at most."""
    fever = _fever_text(plan)
    chemo_possible = not plan.current  # with the current medicines known, theirs decide
    # a step's own urgent signs (the spinal cord, with cancer in the bones) keep one place
    steps = [s for s in plan.walk() if s.item.glance and s.mode == "full" and not s.conditions
             and not _holds_fever_rule(s.body)]
    items = _glance_signs(plan)[:GLANCE_SIGNS - 1 if steps else GLANCE_SIGNS]
    if fever is not None and chemo_possible and fever not in items and any(
            _holds_fever_rule(sec.body) for sec in plan.walk()):
        items.insert(0, fever)  # the one fever rule, word for word, where chemotherapy may come
    with_fever = fever is not None and fever in items
    for sec in plan.walk():
        if _holds_fever_rule(sec.body) and (with_fever or not chemo_possible):
            # this step's glance words are about fever: the rule is there already, or the
            # current medicines, known, carry no fever rule
            continue
        if sec.item.glance and sec.mode == "full" and not sec.conditions \
                and len(items) < GLANCE_SIGNS:
            items.append(" ".join(sec.item.glance.split()))
    return list(dict.fromkeys(items))[:GLANCE_SIGNS]


SHARED_KEYS = ("call_now", "tips")


def _shared_items(cards: list[dict[str, Any]]) -> dict[str, list[dict[str, str]]] | None:
    """Signs and tips that two or more current medicines share (the fever rule of a
    chemotherapy regimen, its birth-control advice) are printed once, above the cards, and
    each card that shares them points there. Nothing is dropped: every item a card had is
    either on the card or in the shared box on the same chapter."""
    if len(cards) < 2:
        return None
    shared: dict[str, list[dict[str, str]]] = {}
    for key in SHARED_KEYS:
        seen: dict[tuple[str, str], int] = {}
        for card in cards:
            for x in {(x["condition"], x["text"]): x for x in card[key]}:
                seen[x] = seen.get(x, 0) + 1
        common = [k for k, n in seen.items() if n >= 2]
        shared[key] = [{"condition": c, "text": t} for c, t in common]
        for card in cards:
            kept = [x for x in card[key] if (x["condition"], x["text"]) not in common]
            card[f"{key}_shared"] = len(kept) < len(card[key])
            card[key] = kept
    return shared if any(shared.values()) else None


def _partners(use: Any, d: PlannedDrug, profile: Profile, lib: Any) -> list[str]:
    """The medicines a use is given with, for its "Given with" line. None for a use not
    approved in Canada (no one here gives it that way); for a current medicine, only its
    current partners when it has some (letrozole, not "letrozole, anastrozole")."""
    if use.canada is not None and use.canada.not_approved_as_of:
        return []
    ids = [w for w in use.with_ if w in lib.drugs]
    if d.now:
        current = [w for w in ids if w in profile.current_therapies]
        ids = current or ids
    return [lib.drugs[w].name for w in ids]


def _calendar(plan: Plan, ui: dict[str, Any]) -> dict[str, Any] | None:
    """The usual first day of each round from the start date, at most 18 rounds, grouped by
    part (the part's name once, then its rounds). It stops at a part that starts later
    (after surgery): the team sets those dates."""
    start = plan.profile.start_date
    if start is None or not plan.regimens:
        return None
    parts: list[dict[str, Any]] = []
    count_rows = 0
    day = start

    def done(more: str) -> dict[str, Any] | None:
        return {"parts": parts, "more": more} if parts else None

    for r in plan.regimens:
        for part in r.item.parts:
            if part.starts and parts:
                return done(ui["calendar_later_part"].format(part=part.name, starts=part.starts))
            if not part.cycle_days:
                continue
            # a part given as long as it works: the first 3 rounds show the pattern
            count = part.cycles or max(1, min(3, 84 // part.cycle_days))
            rows: list[dict[str, Any]] = []
            parts.append({"name": part.name, "days": part.days, "rows": rows})
            for n in range(1, count + 1):
                if count_rows >= 18:
                    return done(ui["calendar_more"])
                rows.append({"cycle": n, "date": _long_date(day, ui.get("months", MONTHS))})
                count_rows += 1
                day = day + dt.timedelta(days=part.cycle_days)
            if part.cycles is None:
                return done(ui["calendar_more"])
    return done("")
