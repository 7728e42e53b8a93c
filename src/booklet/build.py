"""The whole pipeline, top to bottom: load profile -> select -> context -> HTML -> PDF -> finish.

Everything is gathered and checked before anything is written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path

from booklet import profile as profile_stage
from booklet.content import Library, cached_library
from booklet.errors import ProfileError
from booklet.context import Options, build_context
from booklet.finish import atomic_write, finish
from booklet.profile import Profile
from booklet.render import render_html, render_notes_html
from booklet.select import Plan, select


@dataclass
class Result:
    plan: Plan
    html: str
    pdf: bytes | None            # the accessible booklet
    pages: int = 0
    print_pdf: bytes | None = None   # with --imposition booklet: the imposed print file
    print_pages: int = 0             # its booklet pages (padded to a multiple of 4)


def print_path(out: Path) -> Path:
    """Where the imposed print file goes: beside the accessible PDF, NAME-print.pdf."""
    out = Path(out)
    return out.with_name(f"{out.stem}-print{out.suffix or '.pdf'}")


def load_profile(path: str, library: Library | None = None, as_of: dt.date | None = None,
                 language: str | None = None) -> Profile:
    """A profile file, or a FHIR Bundle (told by its resourceType): `as_of` is the date an
    age is counted at (the booklet's date); `language` (--lang) overrides the profile's."""
    lib = library or cached_library()
    from booklet import fhir

    if path != "-" and fhir.is_fhir_file(path):
        prof = fhir.load_profile(path, lib, as_of)
    else:
        prof = profile_stage.load(path, lib.drug_names)
    if language and language != prof.language:
        prof = replace(prof, language=language)
    return prof


def plan_for(profile: Profile, library: Library | None = None,
             all_medicines: bool = False) -> Plan:
    return select(profile, library or cached_library(profile.language), all_medicines)


def require_pathway(plan: Plan) -> None:
    """A booklet needs at least one pathway step; say which stages have content so far."""
    if any(sec.number for sec in plan.sections):
        return
    stages = sorted({v for s in plan.library.top_steps() for v in s.applies.get("stage", [])})
    raise ProfileError(
        f"Profile field 'stage': '{plan.profile.stage}': no booklet pathway for this profile yet; "
        f"pathways exist for stage {', '.join(stages)}")


def build(profile: Profile, options: Options | None = None, fmt: str = "pdf",
          steps: tuple[tuple[str, dict], ...] = ()) -> Result:
    """Profile in, booklet out (bytes); nothing is written here."""
    options = options or Options()
    plan = plan_for(profile, all_medicines=options.all_medicines)
    require_pathway(plan)
    context = build_context(plan, options)
    # HTML output links its stylesheet; the PDF path uses the stylesheet parsed once.
    context["link_stylesheet"] = fmt != "pdf"
    html = render_html(context)
    if fmt != "pdf":
        return Result(plan, html, None)
    from booklet.pdf import render_pdf

    extra = (options.clinic.folder,) if options.clinic is not None else ()
    pdf, pages = render_pdf(html, extra_roots=extra, day=options.date)
    pdf = finish(pdf, [("tag", {})])  # every mode: the structure tree a screen reader needs
    printed, printed_pages = None, 0
    if options.imposition == "booklet":
        # the imposed sheets are for the printer; the accessible PDF (same pages) goes beside them
        need = -pages % 4
        pad = render_pdf(render_notes_html(context, need), day=options.date)[0] if need else b""
        printed = finish(pdf, [("impose", {"pad": pad}), *steps])
        printed_pages = pages + need
    return Result(plan, html, finish(pdf, list(steps)), pages, printed, printed_pages)


def build_to_file(profile: Profile, out: Path, options: Options | None = None,
                  fmt: str = "pdf", steps: tuple[tuple[str, dict], ...] = ()) -> Result:
    """Write the booklet to `out` (and, when imposed, the print file beside it)."""
    result = build(profile, options, fmt, steps)
    if result.print_pdf is not None:
        atomic_write(print_path(out), result.print_pdf)
    atomic_write(out, result.pdf if fmt == "pdf" else result.html)
    return result
