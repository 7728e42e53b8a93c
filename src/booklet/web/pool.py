"""Renders for the web app: a process pool whose workers load the content and WeasyPrint
once (as `booklet batch` does), behind a bounded queue.

A request that finds every worker busy and the queue full is told at once that the
server is busy (503), instead of piling up: memory stays bounded by the number of workers
and the length of the queue. Workers are replaced after a number of renders, so that a
slow growth in one process cannot last.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from booklet.errors import BookletError

_STATE: dict[str, Any] = {}


class Busy(Exception):
    """Every worker is busy and the queue is full: try again in a moment."""


class Failed(Exception):
    """A worker stopped while rendering (the pool is restarted)."""


@dataclass(frozen=True)
class Job:
    """What one render needs; patient data only in memory, never on disk."""

    data: Any
    date: Any                       # datetime.date printed on the booklet
    paper: str = "letter"
    large_print: bool = False
    imposition: str = "none"
    all_medicines: bool = False
    password: str = ""              # encrypt with it when given


def _init(clinic: Any) -> None:
    """Once per worker: the content, the fonts and WeasyPrint's stylesheet."""
    from booklet.content import cached_library

    cached_library()
    import booklet.pdf as pdf

    pdf.warm_up()
    _STATE["clinic"] = clinic
    _watch_parent(os.getppid())


def _watch_parent(parent: int) -> None:
    """End this worker when the server is gone, even if it was killed outright (an idle
    worker would otherwise wait for work forever)."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="booklet-parent-watch", daemon=True).start()


def _ping() -> int:
    return os.getpid()


def render_job(job: Job) -> dict[str, Any]:
    """Profile data in, PDF bytes out; problems as the CLI words them."""
    from booklet.build import build
    from booklet.content import cached_library
    from booklet.context import Options
    from booklet.profile import normalise

    try:
        profile = normalise(job.data, cached_library().drug_names)
        options = Options(date=job.date, paper=job.paper, large_print=job.large_print,
                          imposition=job.imposition, clinic=_STATE.get("clinic"),
                          all_medicines=job.all_medicines)
        steps = (("encrypt", {"password": job.password}),) if job.password else ()
        result = build(profile, options, "pdf", steps)
    except BookletError as exc:
        return {"problems": exc.problems}
    except Exception as exc:  # noqa: BLE001 - a message for the nurse, never a crashed worker
        return {"problems": [f"internal error ({type(exc).__name__}); the booklet could not be made"]}
    return {"pdf": result.pdf, "pages": result.pages, "warnings": profile.warnings}


class Renderer:
    """The pool and its queue. Used from the server's event loop only."""

    def __init__(self, workers: int = 2, queue: int = 8, clinic: Any = None,
                 tasks_per_worker: int = 100, timeout: float = 300.0):
        self.workers = max(1, workers)
        self.queue = max(0, queue)
        self.clinic = clinic
        self.tasks_per_worker = tasks_per_worker
        self.timeout = timeout
        self.waiting = 0            # admitted renders not yet finished
        self.done = 0
        self.refused = 0
        self.pool: ProcessPoolExecutor | None = None

    @property
    def capacity(self) -> int:
        return self.workers + self.queue

    def start(self) -> None:
        # spawn, not fork: the server has threads (fork would copy their locks), and
        # `max_tasks_per_child` needs it
        self.pool = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init, initargs=(self.clinic,), max_tasks_per_child=self.tasks_per_worker)

    async def warm(self) -> None:
        """Start every worker now, so the first nurse does not wait for the content load."""
        assert self.pool is not None
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self.pool, _ping)
                               for _ in range(self.workers)))

    def stop(self) -> None:
        """Cancel what waits; let the renders under way finish; end the workers."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def _restart(self) -> None:
        old, self.pool = self.pool, None
        if old is not None:
            old.shutdown(wait=False, cancel_futures=True)
        self.start()

    def admit(self, slots: int = 1) -> None:
        """Take `slots` places in the queue, or raise Busy."""
        if self.waiting + slots > self.capacity:
            self.refused += 1
            raise Busy()
        self.waiting += slots

    def release(self, slots: int = 1) -> None:
        self.waiting -= slots

    async def run(self, job: Job, admitted: bool = False) -> dict[str, Any]:
        """Render one job. Without `admitted`, take a place in the queue (or raise Busy)."""
        if not admitted:
            self.admit()
        try:
            if self.pool is None:
                self.start()
            assert self.pool is not None
            future = asyncio.get_running_loop().run_in_executor(self.pool, render_job, job)
            try:
                result = await asyncio.wait_for(future, self.timeout)
            except BrokenProcessPool:
                self._restart()
                raise Failed() from None
            except asyncio.TimeoutError:
                raise Busy() from None
            self.done += 1
            return result
        finally:
            if not admitted:
                self.release()
