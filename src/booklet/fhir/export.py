"""Batches from a clinic's record: a FHIR Bulk Data export (`*.ndjson`, one file per resource
type) or a folder of FHIR Bundles (`*.json`).

An export is streamed line by line into a temporary on-disk index (SQLite, in a temporary
folder deleted when the rows are read), then read back one patient at a time: memory holds
one patient's resources and the derived profiles, never the export. Each breast-cancer
Patient gives one row, named by the Patient id (never a name). A Patient with no breast
cancer is passed over (and counted); one whose record could not be read is a failed row.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from booklet.errors import ProfileError
from booklet.fhir import is_fhir_file, records
from booklet.fhir.derive import NoBreastCancer, derive
from booklet.fhir.record import Record, patient_of

NO_BREAST_CANCER = "no breast cancer in the record"
MAX_LINE = 20_000_000  # bytes: one resource


def _ndjson_files(source: Path) -> list[Path]:
    if source.is_dir():
        return sorted(p for p in source.iterdir() if p.is_file() and p.suffix.lower() == ".ndjson")
    return [source]


def is_export(source: Path) -> bool:
    """A folder with .ndjson files, or one .ndjson/.jsonl file whose first line is a FHIR resource."""
    if source.is_dir():
        return bool(_ndjson_files(source))
    if source.suffix.lower() not in (".ndjson", ".jsonl"):
        return False
    try:
        with source.open("rb") as f:
            for line in f:
                if line.strip():
                    return b'"resourceType"' in line[:65_536]
    except OSError:
        return False
    return False


def describe(source: Path) -> str:
    """What kind of batch input `source` is, told by its content: for the screen."""
    if is_export(source):
        files = _ndjson_files(source)
        names = ", ".join(p.name for p in files[:8]) + (", ..." if len(files) > 8 else "")
        return f"a FHIR Bulk Data export ({len(files)} .ndjson file{'s' if len(files) != 1 else ''}: {names})"
    if not source.is_dir():
        return ""
    files = [p for p in source.iterdir() if p.is_file() and p.suffix.lower() in (".yaml", ".yml", ".json")]
    bundles = sum(1 for p in files if is_fhir_file(p))
    if bundles and bundles == len(files):
        return f"a folder of FHIR Bundles ({bundles} .json files)"
    if bundles:
        return f"a folder of profiles and FHIR Bundles ({len(files) - bundles} profiles, {bundles} Bundles)"
    return f"a folder of profiles ({len(files)} files)"


def _row(number: int, label: str, pid: str, derived: Any = None, problem: str = "", skip: str = "",
         path: Path | None = None) -> Any:
    from booklet.batch import Row

    return Row(number, label, pid or str(number), derived.data if derived is not None else None,
               problem, path, tuple(derived.notes) if derived is not None else (), skip)


def _derived_row(number: int, pid: str, record: Record, as_of: dt.date, lib: Any,
                 path: Path | None = None) -> Any:
    label = f"patient {number}"
    try:
        derived = derive(record, as_of, lib.drug_names)
    except NoBreastCancer as exc:
        text = exc.problems[0].split(": ", 1)[-1]
        if record.problems:  # it may be there, in what could not be read
            extra = "" if "could not be read" in text else \
                "; some of the record could not be read: " + "; ".join(record.problems)
            return _row(number, label, pid, problem=text + extra, path=path)
        return _row(number, label, pid, skip=NO_BREAST_CANCER, path=path)
    except ProfileError as exc:
        return _row(number, label, pid, problem="; ".join(exc.problems), path=path)
    except Exception as exc:  # noqa: BLE001 - one odd record never stops a batch
        return _row(number, label, pid, problem=f"internal error reading the record ({type(exc).__name__})",
                    path=path)
    return _row(number, label, pid, derived, path=path)


def bundle_rows(path: Path, first: int, as_of: dt.date | None) -> Iterator[Any]:
    """The rows of one Bundle file in a folder: one per patient (usually one)."""
    from booklet.content import cached_library

    lib = cached_library()
    day = as_of or dt.date.today()
    try:
        found = records(json.loads(path.read_text(encoding="utf-8-sig")), path.name)
    except (ProfileError, json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
        problem = "; ".join(exc.problems) if isinstance(exc, ProfileError) else \
            f"{path.name}: not a readable FHIR Bundle ({exc.__class__.__name__}: {str(exc)[:120]})"
        yield _row(first, f"file {path.name}", path.stem, problem=problem, path=path)
        return
    for n, (pid, record) in enumerate(found, first):
        yield _derived_row(n, pid or path.stem, record, day, lib, path)


def ndjson_rows(source: Path, as_of: dt.date | None, say: Callable[[str], None] | None = None) -> list[Any]:
    """Every row of a Bulk Data export: index it on disk, then derive each patient."""
    from booklet.content import cached_library

    lib = cached_library()
    day = as_of or dt.date.today()
    files = _ndjson_files(source)
    rows: list[Any] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="booklet-fhir-") as tmp:
        db = sqlite3.connect(str(Path(tmp) / "index.sqlite"))
        try:
            db.execute("PRAGMA journal_mode=OFF")
            db.execute("PRAGMA synchronous=OFF")
            db.execute("CREATE TABLE res (pid TEXT NOT NULL, body TEXT NOT NULL)")
            db.execute("CREATE TABLE shared (ref TEXT PRIMARY KEY, body TEXT NOT NULL)")
            count = _index(files, db, rows, say)
            db.execute("CREATE INDEX res_pid ON res (pid)")
            pids = [r[0] for r in db.execute("SELECT DISTINCT pid FROM res ORDER BY pid")]
            if say:
                say(f"indexed {count:,} resources of {len(pids):,} patients in "
                    f"{time.perf_counter() - started:.1f} s; reading each record")
            step = max(1, len(pids) // 10)
            for n, pid in enumerate(pids, 1):
                record = Record()
                bodies = [json.loads(b) for (b,) in db.execute("SELECT body FROM res WHERE pid = ?", (pid,))]
                for res in bodies:
                    record.add(res)
                for key in _medication_refs(bodies):
                    hit = db.execute("SELECT body FROM shared WHERE ref = ?", (key,)).fetchone()
                    if hit:
                        record.add(json.loads(hit[0]))
                rows.append(_derived_row(len(rows) + 1, pid, record, day, lib))
                if say and (n % step == 0 or n == len(pids)):
                    say(f"read {n:,}/{len(pids):,} patients ({time.perf_counter() - started:.1f} s)")
        finally:
            db.close()
    skipped = sum(1 for r in rows if r.skip)
    if say and skipped:
        say(f"{skipped} patient{'s' if skipped != 1 else ''} with {NO_BREAST_CANCER}: passed over")
    return rows


def _index(files: list[Path], db: sqlite3.Connection, rows: list[Any],
           say: Callable[[str], None] | None) -> int:
    """Stream every line into the index; unreadable lines become failed rows."""
    batch: list[tuple[str, str]] = []
    shared: list[tuple[str, str]] = []
    count = 0
    for path in files:
        with path.open("rb") as f:
            for n, raw in enumerate(f, 1):
                if not raw.strip():
                    continue
                where = f"{path.name} line {n}"
                if len(raw) > MAX_LINE:
                    rows.append(_row(len(rows) + 1, where, "", problem=f"{where}: longer than "
                                     f"{MAX_LINE // 1_000_000} MB; skipped"))
                    continue
                try:
                    res = json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    rows.append(_row(len(rows) + 1, where, "", problem=f"{where}: not valid JSON "
                                     f"({getattr(exc, 'msg', exc.__class__.__name__)}); skipped"))
                    continue
                if not isinstance(res, dict) or not isinstance(res.get("resourceType"), str):
                    rows.append(_row(len(rows) + 1, where, "", problem=f"{where}: not a FHIR resource; skipped"))
                    continue
                body = json.dumps(res, separators=(",", ":"))
                pid = patient_of(res)
                if pid is None:
                    if res.get("id"):
                        shared.append((f"{res['resourceType']}/{res['id']}", body))
                    continue
                batch.append((pid, body))
                count += 1
                if len(batch) >= 5000:
                    db.executemany("INSERT INTO res VALUES (?, ?)", batch)
                    batch.clear()
    db.executemany("INSERT INTO res VALUES (?, ?)", batch)
    db.executemany("INSERT OR REPLACE INTO shared VALUES (?, ?)", shared)
    db.commit()
    return count + len(shared)


def _medication_refs(resources: list[dict[str, Any]]) -> list[str]:
    out = []
    for res in resources:
        ref = res.get("medicationReference")
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            parts = ref["reference"].rstrip("/").split("/")
            if len(parts) >= 2:
                out.append(f"{parts[-2]}/{parts[-1]}")
    return out
