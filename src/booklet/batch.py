"""Many booklets from one input: a CSV, a JSONL file, or a folder of YAML/JSON profiles.

Rows are read and normalised first; every bad row is reported (row, field, message) and
every good row is still rendered. Workers are processes that import WeasyPrint and load
the content once, then render many booklets. Output files are written atomically and
named from a template that holds no patient data by default.

Existing outputs are never overwritten unless asked (--force, or --resume for outputs
older than their input): a re-run reports them as skipped. With --password-column each
row carries its own password, which is taken out of the row before anything else reads it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import string
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from booklet.errors import BookletError, ProfileError

MAX_INPUT = 50_000_000  # bytes: a day's list is far smaller
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
TEMPLATE_FIELDS = {"id", "row", "stage", "type", "hr", "her2"}


class InputError(BookletError):
    """The batch input as a whole cannot be used (exit 2)."""


@dataclass
class Row:
    number: int              # 1-based position in the input
    label: str               # "row 7" or "file alice.yaml"
    id: str                  # from the id column / file stem, else the row number
    data: Any                # raw profile data, or None when unreadable
    problem: str = ""        # why the raw data could not be read
    path: Path | None = None  # the row's own file (folder input)
    notes: tuple = ()        # what a FHIR record's reading noted (booklet.fhir.Note)
    skip: str = ""           # why the row is passed over (a FHIR patient with no breast cancer)


@dataclass
class Outcome:
    row: Row
    output: Path | None = None
    problems: list[str] = field(default_factory=list)
    skipped: str = ""
    pages: int = 0
    size: int = 0
    password: str = field(default="", repr=False)  # this row's own (--password-column)
    profile: Any = field(default=None, repr=False)  # the normalised profile, once checked


EXISTS = "exists; --force to redo"
UP_TO_DATE = "up to date"


# ---------------------------------------------------------------- reading input

def _set(target: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    for key in keys[:-1]:
        nxt = target.setdefault(key, {})
        if not isinstance(nxt, dict):
            raise ValueError(f"column '{dotted}' conflicts with column '{key}'")
        target = nxt
    target[keys[-1]] = value


def _csv_rows(text: str) -> Iterator[Row]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise InputError("batch input: the CSV file is empty (expected a header row)") from None
    header = [h.strip().lstrip("\ufeff") for h in header]
    if not any(header):
        raise InputError("batch input: the CSV header row is empty")
    dupes = {h for h in header if header.count(h) > 1 and h}
    if dupes:
        raise InputError(f"batch input: duplicate CSV columns: {', '.join(sorted(dupes))}")
    for n, cells in enumerate(reader, 2):  # row numbers as a spreadsheet shows them
        if not any(c.strip() for c in cells):
            continue
        label = f"row {n}"
        if len(cells) > len(header):
            yield Row(n, label, str(n), None, f"has {len(cells)} cells but the header has {len(header)} columns")
            continue
        data: dict[str, Any] = {}
        row_id = ""
        try:
            for column, cell in zip(header, cells):
                cell = cell.strip()
                if column == "id":
                    row_id = cell
                    continue
                if not column or cell == "":
                    continue  # an empty cell means "not given"
                _set(data, column, cell)  # lists ('bone;liver') are split by the profile
        except ValueError as exc:
            yield Row(n, label, str(n), None, str(exc))
            continue
        yield Row(n, label, row_id or str(n), data)


def _jsonl_rows(text: str) -> Iterator[Row]:
    n = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        n += 1
        label = f"line {n}"
        try:
            data = json.loads(line, object_pairs_hook=_no_twice)
        except json.JSONDecodeError as exc:
            yield Row(n, label, str(n), None, f"not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        except _Twice as exc:
            yield Row(n, label, str(n), None, f"Profile field '{exc}': given more than once; keep one")
            continue
        row_id = str(data.pop("id", "") or "") if isinstance(data, dict) else ""
        yield Row(n, label, row_id or str(n), data)


class _Twice(ValueError):
    """A JSON object names a key twice."""


def _no_twice(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Twice(key)
        out[key] = value
    return out


def _folder_rows(folder: Path, as_of: Any = None) -> Iterator[Row]:
    from booklet.fhir import is_fhir_file
    from booklet.fhir.export import bundle_rows
    from booklet.profile import parse_text, read_source

    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.suffix.lower() in (".yaml", ".yml", ".json"))
    if not files:
        raise InputError(f"batch input: {folder} holds no .yaml, .yml or .json profiles")
    n = 0
    for path in files:
        n += 1
        if is_fhir_file(path):  # a FHIR Bundle: a row per patient, named by the Patient id
            for row in bundle_rows(path, n, as_of):
                n = row.number
                yield row
            continue
        label = f"file {path.name}"
        try:
            text, _ = read_source(str(path))
            data = parse_text(text, path.name)
        except ProfileError as exc:
            yield Row(n, label, path.stem, None, "; ".join(exc.problems), path)
            continue
        yield Row(n, label, path.stem, data, path=path)


def is_batch_input(path: Path) -> bool:
    """A folder, or a .csv or .jsonl file: what `batch` reads."""
    return path.is_dir() or path.suffix.lower() in (".csv", ".jsonl", ".ndjson")


def read_rows(source: Path, as_of: Any = None, say: Callable[[str], None] | None = None) -> list[Row]:
    """Read every row of a batch input. Raises InputError if the input is unusable.
    A FHIR Bulk Data export (a folder or file of .ndjson) gives a row per breast-cancer
    Patient; `as_of` is the date ages are counted at, `say` reports progress."""
    if not source.exists():
        raise InputError(f"batch input: {source}: no such file or folder")
    from booklet.fhir import export

    if export.is_export(source):
        return export.ndjson_rows(source, as_of, say)
    if source.is_dir():
        return list(_folder_rows(source, as_of))
    if source.stat().st_size > MAX_INPUT:
        raise InputError(f"batch input: {source} is larger than {MAX_INPUT // 1_000_000} MB")
    try:
        text = source.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"batch input: {source} is not UTF-8 text") from None
    if "\x00" in text:
        raise InputError(f"batch input: {source} contains NUL bytes; is it a text file?")
    suffix = source.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return list(_jsonl_rows(text))
    if suffix == ".csv":
        try:
            return list(_csv_rows(text))
        except csv.Error as exc:
            raise InputError(f"batch input: {source}: not a readable CSV file ({exc})") from None
    raise InputError(f"batch input: {source}: use a .csv or .jsonl file, or a folder of .yaml/.json profiles")


# ---------------------------------------------------------------- naming and selection

def check_template(template: str) -> None:
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(template) if f}
    except ValueError as exc:
        raise InputError(f"option '--name': '{template}' is not a valid name template ({exc})") from None
    unknown = names - TEMPLATE_FIELDS
    if unknown:
        raise InputError(f"option '--name': unknown field(s) {', '.join(sorted(unknown))}; "
                         f"allowed: {', '.join(sorted(TEMPLATE_FIELDS))} (no patient names)")
    if "/" in template or "\\" in template or not template.endswith((".pdf", ".html")):
        raise InputError(f"option '--name': '{template}' must be a file name ending in .pdf or .html")


def output_name(template: str, row: Row, profile: Any) -> str:
    safe_id = row.id if SAFE_ID.match(row.id) else str(row.number)
    return template.format(id=safe_id, row=row.number, stage=profile.stage, type=profile.type,
                           hr=profile.hr, her2=profile.her2)


def parse_shard(text: str | None, env: Any = None) -> tuple[int, int] | None:
    """K/N, or auto (auto/N) from the job engine's variables: (K, N) with 1 <= K <= N."""
    return resolve_shard(text, env)[0]


def resolve_shard(text: str | None, env: Any = None) -> tuple[tuple[int, int] | None, str]:
    """(K, N) and, for auto, where they came from ("Slurm job array task 7")."""
    if not text:
        return None, ""
    auto = re.fullmatch(r"auto(?:/(\d+))?", text.strip().lower())
    if auto:
        k, n, where = auto_shard(int(auto.group(1)) if auto.group(1) else None,
                                 os.environ if env is None else env)
        return (k, n), where
    match = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise InputError(f"option '--shard': '{text}' is not K/N with 1 <= K <= N (e.g. 1/4), "
                         "or auto")
    return (int(match.group(1)), int(match.group(2))), ""


def auto_shard(count: int | None, env: Any) -> tuple[int, int, str]:
    """This task's shard from a Slurm job array or a Kubernetes Indexed Job: (K, N, where)."""
    def number(name: str, default: int | None = None) -> int:
        raw = env.get(name, "")
        if raw.strip() == "" and default is not None:
            return default
        try:
            return int(raw)
        except ValueError:
            raise InputError(f"option '--shard': auto: {name} is '{raw[:20]}', not a whole "
                             "number") from None

    if env.get("SLURM_ARRAY_TASK_ID", "").strip():
        task, low = number("SLURM_ARRAY_TASK_ID"), number("SLURM_ARRAY_TASK_MIN", 0)
        step = max(1, number("SLURM_ARRAY_TASK_STEP", 1))
        if not env.get("SLURM_ARRAY_TASK_COUNT", "").strip():
            raise InputError("option '--shard': auto: SLURM_ARRAY_TASK_ID is set but not "
                             "SLURM_ARRAY_TASK_COUNT")
        n = number("SLURM_ARRAY_TASK_COUNT")
        index, rest = divmod(task - low, step)
        where = f"Slurm job array task {task}"
        if count is not None and count != n:
            raise InputError(f"option '--shard': auto/{count}: the Slurm job array has {n} tasks")
        if rest or not 0 <= index < n:
            raise InputError(f"option '--shard': auto: task {task} is not one of {n} evenly "
                             "spaced tasks; give the array as a range, such as --array=0-9")
    elif env.get("JOB_COMPLETION_INDEX", "").strip():
        index = number("JOB_COMPLETION_INDEX")
        where = f"Kubernetes Indexed Job, index {index}"
        if count is None:
            raise InputError("option '--shard': auto: in a Kubernetes Indexed Job, give the "
                             "number of shards too: --shard auto/N, with N the Job's completions")
        n = count
        if not 0 <= index < n:
            raise InputError(f"option '--shard': auto/{n}: JOB_COMPLETION_INDEX {index} is not "
                             f"below {n}; N must be the Job's completions")
    else:
        raise InputError("option '--shard': auto: no job index found: it reads "
                         "JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or SLURM_ARRAY_TASK_ID "
                         "(Slurm job array); elsewhere give K/N")
    if n < 1:
        raise InputError(f"option '--shard': auto: the task count is {n}")
    return index + 1, n, where


def errors_name(shard: tuple[int, int] | None) -> str:
    """errors.csv, or errors-K-of-N.csv for a shard (shards may share one --out-dir)."""
    return f"errors-{shard[0]}-of-{shard[1]}.csv" if shard else "errors.csv"


def take_password(row: Row, column: str) -> tuple[str, str]:
    """Remove this row's password from its data: (password, problem). Never echoed."""
    data = row.data if isinstance(row.data, dict) else {}
    raw = data.pop(column, None)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return "", (f"column '{column}' is empty: with --password-column every row needs "
                    "its own password")
    if not isinstance(raw, str):
        return "", f"column '{column}' is not text"
    from booklet.finish import check_password

    try:
        check_password(raw.strip(), f"column '{column}'")
    except BookletError as exc:
        return "", exc.problems[0]
    return raw.strip(), ""


# ---------------------------------------------------------------- workers

_WORKER: dict[str, Any] = {}


def _init_worker(options: Any, fmt: str, steps: tuple[tuple[str, dict], ...],
                 eml: bool = False) -> None:
    """Once per worker: load content, import WeasyPrint, parse fonts and styles."""
    from booklet.content import cached_library

    cached_library()
    if fmt == "pdf":
        import booklet.pdf as pdf

        pdf.warm_up()
    _WORKER.update(options=options, fmt=fmt, steps=steps, eml=eml)


def _render_one(data: Any, out: str, password: str = "") -> tuple[int, int]:
    """Render one normalised-valid profile to `out` (atomically), with its email draft
    beside it when asked. Returns (pages, bytes)."""
    from booklet.build import build
    from booklet.content import cached_library
    from booklet.finish import atomic_write
    from booklet.profile import normalise

    profile = normalise(data, cached_library().drug_names)
    steps = tuple(("encrypt", {"password": password}) if password and step == "encrypt"
                  else (step, settings) for step, settings in _WORKER["steps"])
    result = build(profile, _WORKER["options"], _WORKER["fmt"], steps)
    payload = result.pdf if result.pdf is not None else result.html.encode("utf-8")
    if _WORKER.get("eml"):
        from booklet.draft import draft_path, email_draft

        options = _WORKER["options"]
        clinic = options.clinic.name if options.clinic is not None else ""
        atomic_write(draft_path(Path(out)), email_draft(
            payload, Path(out).name, profile.email,
            encrypted=any(step == "encrypt" for step, _ in steps), clinic=clinic))
    atomic_write(Path(out), payload)
    return result.pages, len(payload)


def _safe_render(data: Any, out: str, password: str = "") -> tuple[int, int, str]:
    try:
        pages, size = _render_one(data, out, password)
        return pages, size, ""
    except BookletError as exc:
        return 0, 0, "; ".join(exc.problems)
    except Exception as exc:  # noqa: BLE001 - one bad row never stops a batch
        return 0, 0, f"internal error ({type(exc).__name__})"


# ---------------------------------------------------------------- the batch

@dataclass
class Summary:
    outcomes: list[Outcome]
    seconds: float

    @property
    def rendered(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.output and not o.problems and not o.skipped]

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.problems]

    @property
    def skipped(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.skipped]

    def skipped_text(self) -> str:
        """'2 skipped (exists; --force to redo)', or with counts when reasons differ."""
        reasons: dict[str, int] = {}
        for o in self.skipped:
            reasons[o.skipped] = reasons.get(o.skipped, 0) + 1
        if len(reasons) == 1:
            return f"{len(self.skipped)} skipped ({next(iter(reasons))})"
        if reasons:
            return f"{len(self.skipped)} skipped ({'; '.join(f'{n} {r}' for r, n in reasons.items())})"
        return "0 skipped"


def select_rows(rows: list[Row], shard: tuple[int, int] | None) -> list[Row]:
    """Shard K/N takes the K-th row of the input, then every N-th one after it."""
    if not shard:
        return rows
    k, n = shard
    return [row for i, row in enumerate(rows) if i % n == k - 1]


def check_rows(rows: list[Row], out_dir: Path, name: str,
               password_column: str | None = None) -> list[Outcome]:
    """Every check a batch makes before rendering, row by row: the data, the profile, the
    output name (unique, no patient data) and, with --password-column, the password."""
    from booklet.content import cached_library
    from booklet.profile import normalise

    lib = cached_library()
    outcomes: list[Outcome] = []
    names: dict[str, int] = {}
    for row in rows:
        outcome = Outcome(row)
        outcomes.append(outcome)
        if row.skip:
            outcome.skipped = row.skip
            continue
        if row.data is None:
            outcome.problems = [row.problem]
            continue
        problems = []
        if password_column:
            outcome.password, problem = take_password(row, password_column)
            if problem:
                problems.append(problem)
        try:
            profile = outcome.profile = normalise(row.data, lib.drug_names)
        except ProfileError as exc:
            outcome.problems = problems + exc.problems
            continue
        if row.notes:
            from booklet.fhir import with_notes

            profile = outcome.profile = with_notes(profile, row.notes)
        if problems:
            outcome.problems = problems
            continue
        target = out_dir / output_name(name, row, profile)
        if target.name in names:
            outcome.problems = [f"output name {target.name} is also used by row {names[target.name]}; "
                                "give each row a unique id"]
            continue
        names[target.name] = row.number
        outcome.output = target
    return outcomes


def check_password_column(source: Path, column: str | None) -> None:
    """A CSV must have the column (JSONL and folder rows are checked one by one)."""
    if not column or source.is_dir() or source.suffix.lower() != ".csv":
        return
    with source.open(encoding="utf-8-sig", newline="") as f:
        header = [h.strip() for h in next(csv.reader(f), [])]
    if column not in header:
        raise InputError(f"option '--password-column': {source.name} has no column '{column}'; "
                         f"its columns are {', '.join(h for h in header if h)}")


def run_batch(source: Path, out_dir: Path, *, options: Any, jobs: int | None = None,
              fmt: str = "pdf", name: str = "{id}.pdf", resume: bool = False,
              force: bool = False, shard: str | tuple[int, int] | None = None,
              steps: tuple[tuple[str, dict], ...] = (),
              progress: Callable[[int, int], None] | None = None,
              password_column: str | None = None, eml: bool = False,
              say: Callable[[str], None] | None = None) -> Summary:
    started = time.perf_counter()
    check_template(name)
    parts = shard if isinstance(shard, tuple) else parse_shard(shard)
    rows = select_rows(read_rows(source, getattr(options, "date", None), say), parts)
    check_password_column(source, password_column)
    out_dir.mkdir(parents=True, exist_ok=True)

    outcomes = check_rows(rows, out_dir, name, password_column)
    todo: list[tuple[Outcome, Any]] = []
    for outcome in outcomes:
        target, row = outcome.output, outcome.row
        if outcome.problems or target is None:
            continue
        if target.exists() and not force:
            if not resume:
                outcome.skipped = EXISTS
                continue
            if target.stat().st_mtime >= (row.path or source).stat().st_mtime:
                outcome.skipped = UP_TO_DATE
                continue
        todo.append((outcome, row.data))

    total = len(todo)
    if progress:
        progress(0, total)
    if total:
        workers = max(1, min(jobs or os.cpu_count() or 1, total))
        if workers == 1:
            _init_worker(options, fmt, steps, eml)
            for done, (outcome, data) in enumerate(todo, 1):
                _record(outcome, *_safe_render(data, str(outcome.output), outcome.password))
                if progress:
                    progress(done, total)
        else:
            pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker,
                                       initargs=(options, fmt, steps, eml))
            try:
                futures = {pool.submit(_safe_render, data, str(outcome.output), outcome.password):
                           outcome for outcome, data in todo}
                for done, future in enumerate(as_completed(futures), 1):
                    _record(futures[future], *future.result())
                    if progress:
                        progress(done, total)
            except BaseException:
                # Ctrl-C: booklets being written finish (atomically); the rest are cancelled,
                # and --resume picks them up.
                pool.shutdown(wait=True, cancel_futures=True)
                raise
            pool.shutdown(wait=True)
    return Summary(outcomes, time.perf_counter() - started)


def _record(outcome: Outcome, pages: int, size: int, problem: str) -> None:
    if problem:
        outcome.problems = [problem]
    else:
        outcome.pages, outcome.size = pages, size


def write_errors(summary: Summary, path: Path) -> None:
    """errors.csv: one line per problem (row, id, field, message). No patient data."""
    from booklet.finish import atomic_write

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["row", "id", "field", "message"])
    for outcome in summary.failed:
        for problem in outcome.problems:
            match = re.search(r"(?:field|column) '([^']+)'", problem)
            writer.writerow([outcome.row.label, outcome.row.id if SAFE_ID.match(outcome.row.id) else "",
                             match.group(1) if match else "", problem])
    atomic_write(path, buf.getvalue())


def progress_printer(stream: Any = None) -> Callable[[int, int], None]:
    """A progress line with count and ETA, redrawn in place on a terminal."""
    stream = stream or sys.stderr
    start = time.perf_counter()
    tty = hasattr(stream, "isatty") and stream.isatty()
    step = {"last": -1}

    def show(done: int, total: int) -> None:
        if total == 0:
            return
        tenth = done * 10 // total
        if not tty and tenth == step["last"] and done != total:
            return  # in a log file: about ten lines, not one per booklet
        step["last"] = tenth
        elapsed = time.perf_counter() - start
        eta = (elapsed / done * (total - done)) if done else 0
        end = "\n" if done == total or not tty else "\r"
        stream.write(f"rendered {done}/{total}  elapsed {elapsed:5.1f}s  ETA {eta:5.1f}s{end}")
        stream.flush()

    return show
