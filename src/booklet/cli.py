"""The `booklet` command: a thin typer layer over the Python API.

Heavy modules (WeasyPrint) are imported inside the commands that render, so `--help`,
`validate` and `explain` start fast. Errors print one clear message each and exit 2;
a traceback appears only with --debug.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from booklet.errors import BookletError, ProfileError

app = typer.Typer(add_completion=True, no_args_is_help=True, rich_markup_mode=None,
                  help="Print an accessible, sourced booklet about a breast-cancer treatment plan.")
content_app = typer.Typer(no_args_is_help=True, help="Check and list the bundled content.")
app.add_typer(content_app, name="content")
profile_app = typer.Typer(no_args_is_help=True, help="Profiles from other sources (a FHIR record).")
app.add_typer(profile_app, name="profile")

STATE = {"debug": False}


class Format(str, Enum):
    pdf = "pdf"
    html = "html"


class Lang(str, Enum):
    en = "en"
    fr = "fr"


LANG_HELP = "Language of the booklet (en or fr); overrides the profile's `language`."


class Paper(str, Enum):
    letter = "letter"
    a4 = "a4"


class Imposition(str, Enum):
    none = "none"
    booklet = "booklet"


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def guarded(fn):  # type: ignore[no-untyped-def]
    """Turn BookletError into a message and exit code; anything else into a short note."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return fn(*args, **kwargs)
        except BookletError as exc:
            if STATE["debug"]:
                raise
            fail("error: " + "\n       ".join(exc.problems), exc.exit_code)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence for users
            if STATE["debug"]:
                raise
            fail(f"internal error ({type(exc).__name__}); run again with --debug for details", 3)

    return wrapper


def default_date() -> dt.date:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc).date()
    return dt.date.today()


def parse_date(text: str | None, option: str) -> dt.date:
    if text is None:
        return default_date()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail(f"error: option '{option}': '{text}' is not a date like 2026-11-26")


def example_path(name: str) -> str:
    from booklet import assets

    folder = assets.path("examples")
    names = sorted(p.stem for p in folder.glob("*.yaml"))
    if name not in names:
        import difflib

        close = difflib.get_close_matches(name, names, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        fail(f"error: option '--example': '{name}' is not a bundled example{hint}; "
             f"allowed: {', '.join(names)}")
    return str(folder / f"{name}.yaml")


def finish_steps(encrypt: bool, password_file: Path | None, fmt: "Format",
                 password_column: str | None = None) -> tuple:
    from booklet.finish import read_password

    if password_file is not None and not encrypt:
        fail("error: option '--password-file' needs --encrypt")
    if password_column is not None and not encrypt:
        fail("error: option '--password-column' needs --encrypt")
    if not encrypt:
        return ()
    if fmt is not Format.pdf:
        fail("error: option '--encrypt' works with --format pdf only")
    if password_column is not None:
        if password_file is not None:
            fail("error: give --password-file (one password for every booklet) or "
                 "--password-column (one for each row), not both")
        return (("encrypt", {"password": ""}),)  # each row brings its own
    return (("encrypt", {"password": read_password(password_file)}),)


SUFFIXES = {"pdf": (".pdf",), "html": (".html", ".htm")}


def check_output(text: str, fmt: "Format", force: bool, eml: bool) -> Path:
    """Refuse, before any work, an output that is a folder, has the wrong extension, or
    exists (unless --force): the same rule as `batch`, which skips existing files."""
    output = Path(text)
    if output.is_dir() or text.endswith(("/", os.sep)):
        fail(f"error: option '-o': '{text}' is a folder; give a file name, such as "
             f"{os.path.join(text, 'booklet.' + fmt.value)}")
    if output.suffix.lower() not in SUFFIXES[fmt.value]:
        what = "a PDF" if fmt is Format.pdf else "HTML"
        fix = output.with_suffix(SUFFIXES[fmt.value][0]).name
        fail(f"error: option '-o': '{output.name}' would hold {what} but does not end in "
             f"{SUFFIXES[fmt.value][0]}; name it {fix}")
    for folder in output.parents:
        if folder.exists() and not folder.is_dir():
            fail(f"error: option '-o': cannot write {text}: {folder} is a file, not a folder")
    if eml and fmt is not Format.pdf:
        fail("error: option '--eml' works with --format pdf only")
    if not force:
        from booklet.draft import draft_path

        for path in (output, draft_path(output)) if eml else (output,):
            if path.exists():
                fail(f"error: option '-o': {path} exists; use --force to overwrite it")
    return output


def writing(exc: OSError, output: Path) -> bool:
    """Whether `exc` came from writing `output` (its folder, its temporary file, itself)."""
    target = output.resolve()
    for name in (exc.filename, exc.filename2):
        if name:
            path = Path(os.fsdecode(name)).resolve()
            if path == target or path.parent == target.parent or path in target.parents:
                return True
    return False


def write_failed(exc: OSError, path: Path) -> NoReturn:
    fail(f"error: option '-o': cannot write {path} ({exc.strerror or type(exc).__name__})")


def write_draft(output: Path, pdf: bytes | None, to: str | None, encrypted: bool, options) -> Path:  # type: ignore[no-untyped-def]
    """The email draft beside the PDF; if it cannot be written, the PDF goes too."""
    from booklet.draft import draft_path, email_draft
    from booklet.finish import atomic_write

    draft = draft_path(output)
    clinic = options.clinic.name if options.clinic is not None else ""
    try:
        atomic_write(draft, email_draft(pdf or b"", output.name, to, encrypted, clinic))
    except OSError as exc:
        output.unlink(missing_ok=True)
        write_failed(exc, draft)
    return draft


def version_callback(value: bool) -> None:
    if value:
        from booklet import __version__

        typer.echo(f"booklet {__version__}")
        raise typer.Exit()


def load_clinic(path: Path | None):  # type: ignore[no-untyped-def]
    if path is None:
        return None
    from booklet import clinic

    return clinic.load(path)


def profile_arg(profile: str | None, example: str | None) -> str:
    if example and profile:
        fail("error: give a PROFILE file or --example, not both")
    if example:
        return example_path(example)
    if not profile:
        fail("error: give a PROFILE file (or - for standard input) or --example NAME")
    return profile


@app.callback()
def main_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=version_callback, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    STATE["debug"] = debug


@app.command()
@guarded
def render(
    profile: Annotated[str | None, typer.Argument(help="Profile file (YAML or JSON), or - for stdin.")] = None,
    output: Annotated[str, typer.Option("-o", "--output", help="Where to write the booklet (a file name ending in .pdf, or .html with --format html).")] = "booklet.pdf",
    example: Annotated[str | None, typer.Option("--example", help="Use a bundled example profile (see `booklet examples`).")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="pdf, or html to see the HTML.")] = Format.pdf,
    paper: Annotated[Paper, typer.Option("--paper", help="Paper size.")] = Paper.letter,
    date: Annotated[str | None, typer.Option("--date", help="Date printed on the booklet (YYYY-MM-DD); default today or SOURCE_DATE_EPOCH.")] = None,
    large_print: Annotated[bool, typer.Option("--large-print", help="Body text 18 pt, re-flowed (not magnified).")] = False,
    imposition: Annotated[Imposition, typer.Option("--imposition", help="booklet: half-size pages, 2 to a landscape sheet, for duplex printing and saddle stitching. The imposed file is for printing only (no structure for screen readers): it goes to NAME-print.pdf, and the accessible PDF of the same pages to NAME.pdf.")] = Imposition.none,
    name_in_metadata: Annotated[bool, typer.Option("--name-in-metadata", help="Put the patient's name in the PDF title (off by default).")] = False,
    encrypt: Annotated[bool, typer.Option("--encrypt", help="Encrypt the PDF (AES-256); password from --password-file or BOOKLET_PASSWORD.")] = False,
    password_file: Annotated[Path | None, typer.Option("--password-file", help="File whose first line is the password.")] = None,
    clinic: Annotated[Path | None, typer.Option("--clinic", help="Clinic branding file (name, address, phones, logo, when to call).")] = None,
    all_medicines: Annotated[bool, typer.Option("--all-medicines", help="A full card for every medicine that fits the profile, not only the current ones (a reference, longer).")] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite OUT if it exists (otherwise an existing file is kept).")] = False,
    eml: Annotated[bool, typer.Option("--eml", help="Also write an unsent email draft beside the PDF (OUT.eml): the booklet attached, To: from the profile's email. Never the password.")] = False,
    lang: Annotated[Lang | None, typer.Option("--lang", help=LANG_HELP)] = None,
) -> None:
    """Render a booklet for one profile."""
    from booklet.build import build_to_file, load_profile
    from booklet.context import Options

    options = Options(date=parse_date(date, "--date"), paper=paper.value,
                      large_print=large_print, imposition=imposition.value,
                      name_in_metadata=name_in_metadata, clinic=load_clinic(clinic),
                      all_medicines=all_medicines)
    if imposition is Imposition.booklet and fmt is not Format.pdf:
        fail("error: option '--imposition booklet' works with --format pdf only")
    steps = finish_steps(encrypt, password_file, fmt)
    output = check_output(output, fmt, force, eml)
    prof = load_profile(profile_arg(profile, example), as_of=options.date,
                        language=lang.value if lang else None)
    for note in prof.warnings:
        typer.echo(f"note: {note}", err=True)
    try:
        result = build_to_file(prof, output, options, fmt.value, steps)
    except OSError as exc:
        if not writing(exc, output):
            raise
        write_failed(exc, output)
    draft = write_draft(output, result.pdf, prof.email, encrypt, options) if eml else None
    size = output.stat().st_size
    extra = f", {result.pages} pages" if result.pdf is not None else ""
    if result.print_pdf is not None:
        from booklet.build import print_path

        printed = print_path(output)
        typer.echo(f"wrote {output} ({size / 1024:.0f} KB{extra}): the accessible booklet, "
                   "for reading on screen and with a screen reader")
        typer.echo(f"wrote {printed} ({printed.stat().st_size / 1024:.0f} KB, {result.print_pages} pages "
                   f"on {result.print_pages // 4} sheets): for printing only (duplex, flip on the "
                   "short edge, fold and staple); it has no structure for screen readers")
        return
    typer.echo(f"wrote {output} ({size / 1024:.0f} KB{extra})")
    if draft is not None:
        typer.echo(f"wrote {draft}: an unsent email draft with the booklet attached"
                   + ("; the password is not in it: send it another way" if encrypt else ""))


@app.command()
@guarded
def preview(
    profile: Annotated[str | None, typer.Argument(help="Profile file, or - for stdin.")] = None,
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Folder for the PNG page images.")] = Path("preview"),
    example: Annotated[str | None, typer.Option("--example", help="Use a bundled example profile.")] = None,
    dpi: Annotated[int, typer.Option("--dpi", min=20, max=300, help="Resolution of the images.")] = 60,
    paper: Annotated[Paper, typer.Option("--paper", help="Paper size.")] = Paper.letter,
    large_print: Annotated[bool, typer.Option("--large-print", help="Large print layout.")] = False,
) -> None:
    """Write PNG images of every page, to look at the layout without a PDF viewer."""
    import shutil
    import subprocess
    import tempfile

    from booklet.build import build, load_profile
    from booklet.context import Options

    if shutil.which("pdftoppm") is None:
        fail("error: preview needs pdftoppm (Debian package poppler-utils)")
    result = build(load_profile(profile_arg(profile, example)),
                   Options(paper=paper.value, large_print=large_print))
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "booklet.pdf"
        pdf.write_bytes(result.pdf or b"")
        subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(out_dir / "page")], check=True)
    typer.echo(f"wrote {result.pages} page images to {out_dir}/")


@app.command()
@guarded
def validate(
    profiles: Annotated[list[str], typer.Argument(help="Profile files (- for stdin), or batch inputs: a .csv or .jsonl file or a folder, every row checked as `batch` would.")],
    name: Annotated[str, typer.Option("--name", help="Batch inputs: the output name template to check, as for `batch`.")] = "{id}.pdf",
    password_column: Annotated[str | None, typer.Option("--password-column", help="Batch inputs: check that every row has a password in this column.")] = None,
) -> None:
    """Check profiles or batch inputs without rendering; list every problem."""
    from booklet.batch import is_batch_input
    from booklet.build import load_profile

    bad = 0
    for path in profiles:
        if path != "-" and is_batch_input(Path(path)):
            bad += validate_batch(Path(path), name, password_column)
            continue
        try:
            prof = load_profile(path)
            typer.echo(f"{path}: ok")
            for note in prof.warnings:
                typer.echo(f"{path}: note: {note}")
        except ProfileError as exc:
            bad += 1
            typer.echo("\n".join(exc.problems), err=True)
    if bad:
        raise typer.Exit(2)


def say_kind(source: Path) -> None:
    """Which kind of batch input was found (a folder is told by its content)."""
    from booklet.fhir.export import describe

    text = describe(source)
    if text:
        typer.echo(f"batch: {source}: {text}", err=True)


def validate_batch(source: Path, name: str, password_column: str | None) -> int:
    """Every row of a batch input checked as `batch` checks it, nothing rendered. Returns
    the number of rows with problems."""
    import tempfile

    from booklet.batch import check_password_column, check_rows, check_template, read_rows

    check_template(name)
    check_password_column(source, password_column)
    say_kind(source)
    rows = read_rows(source, as_of=default_date(), say=lambda text: typer.echo(f"validate: {text}", err=True))
    with tempfile.TemporaryDirectory() as tmp:  # output names only; nothing is written
        outcomes = check_rows(rows, Path(tmp), name, password_column)
    for outcome in outcomes:
        for problem in outcome.problems:
            typer.echo(f"{source}: {outcome.row.label}{row_id(outcome.row)}: {problem}", err=True)
        for note in outcome.profile.warnings if outcome.profile is not None else ():
            typer.echo(f"{source}: {outcome.row.label}{row_id(outcome.row)}: note: {note}")
    failed = sum(1 for o in outcomes if o.problems)
    passed = sum(1 for o in outcomes if o.skipped)
    typer.echo(f"{source}: {len(outcomes)} rows: {len(outcomes) - failed - passed} ok, "
               f"{failed} with problems" + (f", {passed} passed over (no breast cancer in the record)" if passed else ""))
    return failed


def row_id(row) -> str:  # type: ignore[no-untyped-def]
    from booklet.batch import SAFE_ID

    return f" ({row.id})" if row.id != str(row.number) and SAFE_ID.match(row.id) else ""


@app.command()
@guarded
def explain(
    profile: Annotated[str | None, typer.Argument(help="Profile file, or - for stdin.")] = None,
    example: Annotated[str | None, typer.Option("--example", help="Use a bundled example profile.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
    all_medicines: Annotated[bool, typer.Option("--all-medicines", help="Plan a full card for every medicine that fits.")] = False,
    lang: Annotated[Lang | None, typer.Option("--lang", help=LANG_HELP)] = None,
) -> None:
    """Show what the booklet will hold for a profile, and why."""
    from booklet.build import load_profile, plan_for

    plan = plan_for(load_profile(profile_arg(profile, example), language=lang.value if lang else None),
                    all_medicines=all_medicines)
    if as_json:
        typer.echo(json.dumps(plan.to_json(), indent=2, ensure_ascii=False))
        return
    p = plan.profile
    out = [f"Profile: stage {p.stage}, {p.type}, ER {p.er}, PR {p.pr} (HR {p.hr}), HER2 {p.her2}, "
           f"menopause {p.menopause}, sex {p.sex}; phase {p.phase}; line {p.line}"]
    from booklet.fhir import RecordNote

    own = [r for r in p.readings if not isinstance(r, RecordNote)]
    record = [r for r in p.readings if isinstance(r, RecordNote)]
    if own:
        out.append("Read as:")
        out += [f"  {r}" + (" [check this]" if r.warn else "") for r in own]
    if record:
        out.append("From the FHIR record:")
        out += [f"  {r}" + (" [check this]" if r.warn else "") for r in record]
    if p.current_therapies:
        out.append(f"Now: {', '.join(p.current_therapies)}"
                   + (f" (regimens: {', '.join(p.regimens)})" if p.regimens else ""))
    out += [f"Note: {n}" for n in plan.notes]
    out.append("Sections:")
    for sec in plan.walk():
        indent = "  " if sec.item.parent is None else "    "
        flags = (" [conditional]" if sec.conditions else "") + (
            f" [{sec.mode}]" if sec.mode != "full" else "")
        out.append(f"{indent}{sec.item.title}{flags} — {sec.why}")
    out.append("Drugs:")
    for group, drugs in plan.drug_groups():
        out.append(f"  {group.title}:")
        for d in drugs:
            flags = "".join([f" [{d.status}]", " [full card]" if d.full or d.now else " [compact]",
                             " [next]" if d.next_up else "",
                             f" [chosen: {d.chosen}]" if d.chosen else "",
                             " [conditional]" if d.conditions else ""])
            out.append(f"    {d.item.name}{flags} — {d.why}")
    out.append("Standards:")
    out += [f"  {s.item.id} — {s.why}" for s in plan.standards]
    more = [q for sec in plan.walk() for q in sec.more_questions]
    out.append(f"Questions: {len(plan.questions)} shown"
               + (f", {len(more)} more not shown: " + "; ".join(q.item.text for q in more)
                  if more else ""))
    out.append(f"Glossary terms: {len(plan.glossary)}; sources: {len(plan.sources)}")
    typer.echo("\n".join(out))


@app.command()
@guarded
def sources(
    profile: Annotated[str | None, typer.Argument(help="Profile file, or - for stdin.")] = None,
    example: Annotated[str | None, typer.Option("--example", help="Use a bundled example profile.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or html.")] = "text",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to this file instead of the screen.")] = None,
) -> None:
    """Every source a profile's booklet cites, in full: publisher, title, year, address."""
    from html import escape

    from booklet.build import load_profile, plan_for

    if fmt not in ("text", "html"):
        fail(f"error: option '--format': '{fmt}' is not one of text, html")
    plan = plan_for(load_profile(profile_arg(profile, example)))
    lib = plan.library
    rows = [lib.sources[sid] for sid in plan.sources]
    if fmt == "text":
        text = "\n".join(f"{n}. {s.publisher}. {s.title}. {s.year or 'date not given'}. {s.url}"
                         for n, s in enumerate(rows, 1)) + "\n"
    else:
        items = "\n".join(
            f'<li>{escape(s.publisher)}. {escape(s.title)}. {s.year or "date not given"}. '
            f'<a href="{escape(s.url)}">{escape(s.url)}</a></li>' for s in rows)
        text = (f'<!DOCTYPE html>\n<html lang="{lib.language}"><head><meta charset="utf-8">'
                f"<title>{escape(lib.ui['sources_heading'])}</title></head><body>"
                f"<h1>{escape(lib.ui['sources_heading'])}</h1><ol>\n{items}\n</ol></body></html>\n")
    if output is None:
        typer.echo(text, nl=False)
    else:
        from booklet.finish import atomic_write

        atomic_write(output, text)
        typer.echo(f"wrote {output} ({len(rows)} sources)")


@app.command()
@guarded
def examples() -> None:
    """List the bundled example profiles."""
    from booklet import assets

    for path in sorted(assets.path("examples").glob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0].lstrip("# ").strip()
        typer.echo(f"{path.stem:<32} {first}")


@app.command()
@guarded
def batch(
    source: Annotated[Path, typer.Argument(help="A .csv or .jsonl file, or a folder of .yaml/.json profiles.")],
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Folder for the booklets and errors.csv.")],
    jobs: Annotated[int | None, typer.Option("--jobs", min=1, help="Worker processes (default: number of CPUs).")] = None,
    name: Annotated[str, typer.Option("--name", help="Output file name template: {id}, {row}, {stage}, {type}, {hr}, {her2}.")] = "{id}.pdf",
    resume: Annotated[bool, typer.Option("--resume", help="Re-render outputs older than their input; skip the others.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing outputs (otherwise they are skipped).")] = False,
    shard: Annotated[str | None, typer.Option("--shard", help="K/N: render the K-th row, then every N-th (1 <= K <= N). auto: K and N from a Slurm job array; auto/N: K from a Kubernetes Indexed Job.")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="pdf or html.")] = Format.pdf,
    paper: Annotated[Paper, typer.Option("--paper", help="Paper size.")] = Paper.letter,
    large_print: Annotated[bool, typer.Option("--large-print", help="Body text 18 pt, re-flowed.")] = False,
    date: Annotated[str | None, typer.Option("--date", help="Date printed on the booklets (YYYY-MM-DD).")] = None,
    encrypt: Annotated[bool, typer.Option("--encrypt", help="Encrypt every PDF (AES-256); password from --password-file or BOOKLET_PASSWORD.")] = False,
    password_file: Annotated[Path | None, typer.Option("--password-file", help="File whose first line is the password.")] = None,
    password_column: Annotated[str | None, typer.Option("--password-column", help="With --encrypt: each row's own password, from this column (never written anywhere).")] = None,
    eml: Annotated[bool, typer.Option("--eml", help="Also write an unsent email draft beside each PDF (NAME.eml), To: from the email column. Never the password.")] = False,
    clinic: Annotated[Path | None, typer.Option("--clinic", help="Clinic branding file.")] = None,
) -> None:
    """Render a booklet for every row; report every bad row and keep going."""
    from booklet.batch import errors_name, progress_printer, resolve_shard, run_batch, write_errors
    from booklet.context import Options

    if fmt is Format.html and name == "{id}.pdf":
        name = "{id}.html"
    if eml and fmt is not Format.pdf:
        fail("error: option '--eml' works with --format pdf only")
    options = Options(date=parse_date(date, "--date"), paper=paper.value, large_print=large_print,
                      clinic=load_clinic(clinic))
    steps = finish_steps(encrypt, password_file, fmt, password_column)
    parts, where = resolve_shard(shard)
    if where:
        typer.echo(f"batch: shard {parts[0]} of {parts[1]} ({where})", err=True)
    say_kind(source)
    summary = run_batch(source, out_dir, options=options, jobs=jobs, fmt=fmt.value, name=name,
                        resume=resume, force=force, shard=parts, steps=steps,
                        progress=progress_printer(), password_column=password_column, eml=eml,
                        say=lambda text: typer.echo(f"batch: {text}", err=True))
    errors = out_dir / errors_name(parts)
    write_errors(summary, errors)
    done = summary.rendered
    rate = len(done) / summary.seconds * 60 if summary.seconds else 0.0
    pages = sum(o.pages for o in done)
    typer.echo(f"batch: {len(done)} rendered, {summary.skipped_text()}, "
               f"{len(summary.failed)} failed, in {summary.seconds:.1f} s "
               f"({rate:.0f} booklets a minute, {pages} pages)")
    for outcome in summary.outcomes:
        if outcome.skipped:
            continue  # said when it was rendered
        for note in outcome.profile.warnings if outcome.profile is not None else ():
            typer.echo(f"  {outcome.row.label}{row_id(outcome.row)}: note: {note}", err=True)
    for outcome in summary.failed:
        for problem in outcome.problems:
            typer.echo(f"  {outcome.row.label}{row_id(outcome.row)}: {problem}", err=True)
    if summary.failed:
        typer.echo(f"errors listed in {errors}", err=True)
        raise typer.Exit(1)


@content_app.command("check")
@guarded
def content_check(
    as_of: Annotated[str | None, typer.Option("--as-of", help="Judge review dates against this date (YYYY-MM-DD).")] = None,
    grades: Annotated[bool, typer.Option("--grades", help="List the reading grade of every item.")] = False,
) -> None:
    """Check the content: schema, rules, ids, sources, review dates, reading level, and that
    every language mirrors English (same items, rules and sources; no older translation)."""
    from booklet import assets
    from booklet.content import check_languages, check_library

    day = parse_date(as_of, "--as-of") if as_of else dt.date.today()
    problems: list[str] = []
    languages = sorted(p.name for p in assets.path("content").iterdir()
                       if p.is_dir() and p.name != "sources")
    for language in ["en"] + [x for x in languages if x != "en"]:
        report = check_library(language, as_of=day)
        if grades:
            for kind, item_id, g in sorted(report.grades):
                typer.echo(f"  [{language}] {'grade' if language == 'en' else 'ease'} {g:5.1f}  {kind:<9} {item_id}")
        body = [g for k, _, g in report.grades if k in ("drug", "step")]
        mean = sum(body) / len(body) if body else 0.0
        counts = ", ".join(f"{v} {k}" for k, v in report.counts.items())
        level = (f"mean reading grade {mean:.1f} (drug pages and steps), highest "
                 f"{max(body, default=0):.1f}" if language == "en" else
                 f"mean Kandel-Moles reading ease {mean:.1f} (drug pages and steps), lowest "
                 f"{min(body, default=0):.1f}")
        typer.echo(f"content [{language}]: {counts}; {level}")
        problems += report.problems if language == "en" else [f"[{language}] {p}" for p in report.problems]
    problems += check_languages()
    if problems:
        typer.echo("\n".join(dict.fromkeys(problems)), err=True)
        fail(f"content check: {len(problems)} problems", 1)
    typer.echo("content check: ok")


@app.command()
@guarded
def rules(
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the table.")] = Path("docs/clinical-rules.md"),
    check: Annotated[bool, typer.Option("--check", help="Only check that the file is current (exit 1 if not).")] = False,
) -> None:
    """Write the clinical rules table: which profiles include each drug and section."""
    from booklet.content import cached_library
    from booklet.finish import atomic_write
    from booklet.rulesdoc import generate

    text = generate(cached_library())
    if check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != text:
            fail(f"{output} is out of date: run `booklet rules`", 1)
        typer.echo(f"{output} is current")
        return
    atomic_write(output, text)
    typer.echo(f"wrote {output}")


@content_app.command("fit")
@guarded
def content_fit(
    show: Annotated[int, typer.Option("--show", help="How many problems to print.")] = 40,
    extra: Annotated[bool, typer.Option("--extra/--core", help="Also sweep biomarkers, current therapies and sites.")] = True,
) -> None:
    """Sweep the profile space and list every sentence written for someone else."""
    from collections import Counter

    from booklet.content import cached_library
    from booklet.errors import ProfileError
    from booklet.fit import core_space, extra_space, problems
    from booklet.profile import normalise
    from booklet.select import select

    lib = cached_library()
    found: Counter[str] = Counter()
    example: dict[str, str] = {}
    plans = 0
    space = list(core_space()) + (list(extra_space(lib)) if extra else [])
    for data in space:
        try:
            plan = select(normalise(data, lib.drug_names), lib)
        except ProfileError:
            continue
        plans += 1
        for problem in problems(plan):
            found[problem] += 1
            example.setdefault(problem, ", ".join(f"{k}={v}" for k, v in data.items()))
    for problem, count in found.most_common(show):
        typer.echo(f"{count:6d}  {problem}\n        e.g. {example[problem]}")
    typer.echo(f"{len(found)} distinct problems in {plans} plans")
    if found:
        raise typer.Exit(1)


@content_app.command("list")
@guarded
def content_list(
    what: Annotated[str, typer.Argument(help="drugs, steps, sources, questions or glossary")] = "drugs",
) -> None:
    """List content ids."""
    from booklet.content import cached_library

    lib = cached_library()
    tables = {"drugs": lib.drugs, "regimens": lib.regimens, "steps": lib.steps,
              "sources": lib.sources, "questions": lib.questions, "glossary": lib.glossary,
              "snippets": lib.snippets}
    if what not in tables:
        fail(f"error: '{what}' is not one of {', '.join(tables)}")
    for key, item in sorted(tables[what].items()):
        typer.echo(f"{key:<34} {getattr(item, 'name', getattr(item, 'title', ''))}")


@profile_app.command("from-fhir")
@guarded
def profile_from_fhir(
    bundle: Annotated[Path, typer.Argument(help="A FHIR R4 Bundle (JSON) holding one patient's record (mCODE).")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the YAML to this file instead of the screen.")] = None,
    date: Annotated[str | None, typer.Option("--date", help="The booklet's date (YYYY-MM-DD), for the age; default today or SOURCE_DATE_EPOCH.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite OUTPUT if it exists.")] = False,
) -> None:
    """Print the profile a FHIR record gives, as YAML: each field with the resource, element
    and code it came from, and every warning. It is printed even where `render` would refuse
    it; edit it and render it."""
    from booklet.content import cached_library
    from booklet.fhir import from_fhir
    from booklet.fhir.yamlout import to_yaml
    from booklet.profile import normalise

    day = parse_date(date, "--date")
    if output is not None and output.exists() and not force:
        fail(f"error: option '-o': {output} exists; use --force to overwrite it")
    lib = cached_library()
    derived = from_fhir(bundle, day, lib.drug_names)
    refused: list[str] = []
    try:
        from booklet.build import plan_for, require_pathway

        require_pathway(plan_for(normalise(derived.data, lib.drug_names), lib))
    except ProfileError as exc:
        refused = exc.problems
    text = to_yaml(derived, bundle.name, day, refused)
    if output is None:
        typer.echo(text, nl=False)
    else:
        from booklet.finish import atomic_write

        atomic_write(output, text)
        typer.echo(f"wrote {output}")
    for note in derived.warnings:
        typer.echo(f"note: {note}", err=True)
    for problem in refused:
        typer.echo(f"render would refuse it: {problem}", err=True)


@app.command()
@guarded
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on. Default 127.0.0.1: this computer only. Any other address needs an access code (--token-file or BOOKLET_WEB_TOKEN).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8765,
    clinic: Annotated[Path | None, typer.Option("--clinic", help="Clinic branding file, used for every booklet.")] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Render processes (default: number of CPUs).")] = None,
    queue: Annotated[int, typer.Option("--queue", min=0, help="Renders that may wait for a free process; more are told to try again in a moment (503).")] = 8,
    recycle: Annotated[int, typer.Option("--recycle", min=1, help="Replace a render process after this many booklets, so that memory cannot creep.")] = 100,
    token_file: Annotated[Path | None, typer.Option("--token-file", help="File whose first line is the access code nurses sign in with (or BOOKLET_WEB_TOKEN).")] = None,
    origin: Annotated[list[str] | None, typer.Option("--origin", help="The address nurses open behind a reverse proxy, such as https://booklet.clinic.example (may be given more than once).")] = None,
) -> None:
    """A web page for nurses: fill in the form, print the booklet."""
    import logging

    from booklet.web.app import Settings, is_loopback

    token = None
    if token_file is not None:
        try:
            lines = token_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            fail(f"error: option '--token-file': cannot read {token_file} ({exc.strerror})")
        token = lines[0].strip() if lines else ""
    elif os.environ.get("BOOKLET_WEB_TOKEN"):
        token = os.environ["BOOKLET_WEB_TOKEN"].strip()
    if token is not None and len(token) < 16:
        fail("error: option '--token-file': the access code is shorter than 16 characters")
    if not is_loopback(host) and not token:
        fail(f"error: option '--host': {host} lets other computers reach the page; give an "
             "access code with --token-file or BOOKLET_WEB_TOKEN, or keep 127.0.0.1 behind the "
             "clinic's reverse proxy and its sign-in (see the README, \"For nurses\")")
    for o in origin or ():
        if not o.startswith(("http://", "https://")) or o.count("/") != 2:
            fail(f"error: option '--origin': '{o}' is not an origin like https://booklet.clinic.example")
    settings = Settings(host=host, port=port, clinic=load_clinic(clinic),
                        workers=workers or os.cpu_count() or 1, queue=queue, recycle=recycle,
                        token=token,
                        origins=tuple(origin or ()), date=default_date, debug=STATE["debug"])
    import uvicorn

    from booklet.web.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"booklet serve: open http://{shown}:{port}/ in a browser (Ctrl-C to stop)", err=True)
    uvicorn.run(create_app(settings), host=host, port=port, access_log=False,
                log_level="warning", server_header=False, timeout_graceful_shutdown=10)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
