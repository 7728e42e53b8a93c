"""`booklet serve`: a local web page where a nurse fills in a form and gets the booklet.

FastAPI (on Starlette, served by uvicorn) with the Jinja2 templates under
`templates/web/`. Nothing about a patient is kept: no database, no form data in logs or
URLs (every form is POSTed), temporary files deleted once the response is sent, and
`Cache-Control: no-store` on every response but the static files.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import ipaddress
import logging
import secrets
import shutil
import tempfile
import time
import zipfile
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.background import BackgroundTask

from booklet import assets
from booklet.errors import BookletError, ProfileError
from booklet.web import fhir_hook
from booklet.web.form import (GROUPS, MAX_FIELDS, SETTINGS, TEAM, Posted, all_keys,
                              errors_by_field, profile_from_values, split, therapy_choices)
from booklet.web.pool import Busy, Failed, Job, Renderer

log = logging.getLogger("booklet.web")

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
BUSY = "The booklet maker is busy. Try again in a moment."
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 8765
    clinic: Any = None                 # booklet.clinic.Clinic, set when the server starts
    token: str | None = None           # required when not bound to loopback
    workers: int = 2
    queue: int = 8                     # renders that may wait for a worker
    recycle: int = 100                 # booklets a worker makes before it is replaced
    max_form: int = 200_000            # bytes in a posted form
    max_upload: int = 2_000_000        # bytes in an uploaded CSV or FHIR bundle
    max_rows: int = 100                # rows in an uploaded CSV (larger: `booklet batch`)
    origins: tuple[str, ...] = ()      # extra allowed origins (behind a reverse proxy)
    date: Callable[[], dt.date] = dt.date.today
    debug: bool = False
    timeout: float = 300.0


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class TooLarge(Exception):
    """The request body is over the limit."""


class _LimitBody:
    """Pure ASGI middleware: refuse a body over the limit, whether or not it says its length."""

    def __init__(self, app: Any, settings: Settings):
        self.app = app
        self.settings = settings

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        upload = scope["path"] in ("/batch", "/fhir")
        limit = self.settings.max_upload if upload else self.settings.max_form
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await _plain(send, 413, too_large(limit))
            return
        seen = 0

        async def counted() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise TooLarge(too_large(limit))
            return message

        await self.app(scope, counted, send)


def too_large(limit: int) -> str:
    return (f"The upload is larger than {limit // 1000} KB, the limit of this page; "
            "for a larger list use `booklet batch` on the command line.")


async def _plain(send: Callable, status: int, text: str) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"), (b"cache-control", b"no-store"),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": text.encode()})


def create_app(settings: Settings | None = None) -> Any:
    settings = settings or Settings()
    renderer = Renderer(settings.workers, settings.queue, settings.clinic,
                        tasks_per_worker=settings.recycle, timeout=settings.timeout)
    web = assets.path("templates") / "web"
    env = Environment(loader=FileSystemLoader(str(web)), undefined=StrictUndefined,
                      autoescape=select_autoescape(("html", "j2")), trim_blocks=True,
                      lstrip_blocks=True)
    key = secrets.token_bytes(32)  # signs the sign-in cookie; new at every start
    session = (hmac.new(key, settings.token.encode(), hashlib.sha256).hexdigest()
               if settings.token else "")
    plans = asyncio.Semaphore(4)  # plan previews computed at once (each well under a second)
    batch_lock = asyncio.Lock()

    @asynccontextmanager
    async def lifespan(app: Any):  # type: ignore[no-untyped-def]
        from booklet.content import cached_library

        await asyncio.to_thread(cached_library)  # the form lists the drugs and regimens
        renderer.start()
        await renderer.warm()
        log.info("booklet serve: ready with %d workers, queue %d", renderer.workers,
                 renderer.queue)
        try:
            yield
        finally:
            renderer.stop()

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.renderer = renderer

    @app.exception_handler(RequestValidationError)
    async def no_echo(request: Request, exc: Exception) -> Any:  # never repeat what was sent
        return Response("The request could not be read.", 400, media_type="text/plain")

    app.state.settings = settings
    app.mount("/static", StaticFiles(directory=str(web / "static")), name="static")

    def library() -> Any:
        from booklet.content import cached_library

        return cached_library()

    # ------------------------------------------------------------ guards and headers

    def allowed_origin(request: Request) -> bool:
        origin = request.headers.get("origin")
        if origin is None:
            # browsers send Origin on every cross-site POST; without it, only a same-site
            # (or non-browser) request is accepted
            return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")
        if origin in settings.origins:
            return True
        parts = urlsplit(origin)
        return bool(parts.netloc) and parts.netloc.lower() == request.headers.get("host", "").lower()

    def allowed_host(request: Request) -> bool:
        """On loopback, only loopback names (a page elsewhere cannot rebind its name to us)."""
        if settings.token or not is_loopback(settings.host):
            return True
        host = request.headers.get("host", "")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        extra = {urlsplit(o).hostname for o in settings.origins}
        return name.lower() in LOOPBACK_HOSTS or name.lower() in extra

    def signed_in(request: Request) -> bool:
        if not settings.token:
            return True
        given = request.cookies.get("booklet_session", "")
        return hmac.compare_digest(given, session)

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
        started = time.perf_counter()
        path = request.url.path
        try:
            if not allowed_host(request):
                response: Any = Response("Unknown host name.", 421, media_type="text/plain")
            elif request.method == "POST" and not allowed_origin(request):
                response = Response("This form must be sent from the booklet page itself.", 403,
                                    media_type="text/plain")
            elif (settings.token and not signed_in(request)
                  and not path.startswith(("/static/", "/sign-in", "/healthz"))):
                response = (Response(status_code=303, headers={"location": "/sign-in"})
                            if request.method == "GET"
                            else Response("Sign in first.", 401, media_type="text/plain"))
            else:
                response = await call_next(request)
        except TooLarge as exc:
            response = Response(str(exc), 413, media_type="text/plain")
        except Exception as exc:  # noqa: BLE001 - never the form data in a log
            if settings.debug:
                log.exception("internal error on %s", path)
            else:
                log.error("internal error on %s (%s)", path, type(exc).__name__)
            response = Response("Something went wrong; the booklet was not made. Try again.",
                                500, media_type="text/plain")
        headers = response.headers
        if not path.startswith("/static/"):
            headers["Cache-Control"] = "no-store"
        headers["Content-Security-Policy"] = CSP
        headers["X-Content-Type-Options"] = "nosniff"
        # same-origin, not no-referrer: with no-referrer a form post says "Origin: null"
        headers["Referrer-Policy"] = "same-origin"
        headers["X-Frame-Options"] = "DENY"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Cross-Origin-Resource-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        # method, path and status only: never a query string, a form value or a name
        log.info("%s %s %d %.0f ms", request.method, path, response.status_code,
                 (time.perf_counter() - started) * 1000)
        return response

    # ------------------------------------------------------------ pages

    def page(name: str, status: int = 200, **context: Any) -> Any:
        lib = library()
        regimens, drug_groups = therapy_choices(lib)
        base = {"groups": GROUPS, "team": TEAM, "values": {}, "errors": {}, "problems": [],
                "plan": None, "notice": "", "regimens": regimens, "drug_groups": drug_groups,
                "options": {}, "clinic": settings.clinic, "fhir": fhir_hook.available(),
                "token": bool(settings.token), "max_rows": settings.max_rows,
                "max_upload_kb": settings.max_upload // 1000, "warnings": [],
                "settings": SETTINGS}
        base.update(context)
        html = env.get_template(name).render(**base)
        return HTMLResponse(html, status)

    async def read_form(request: Request) -> Any:
        return await request.form(max_files=1, max_fields=MAX_FIELDS,
                                  max_part_size=settings.max_upload)

    def check(posted: Posted) -> tuple[Any, dict[str, list[str]], list[str]]:
        """(plan or None, errors by field, every problem): what `validate` and `explain`
        would say for the same profile file."""
        from booklet.build import plan_for, require_pathway
        from booklet.profile import normalise

        problems = option_problems(posted.options)
        plan = None
        try:
            profile = normalise(posted.data, library().drug_names)
            plan = plan_for(profile, library(), all_medicines=bool(posted.options.get(
                "all_medicines")))
            require_pathway(plan)
        except ProfileError as exc:
            problems = exc.problems + problems
            plan = None
        return plan, errors_by_field(problems, all_keys()), problems

    @app.get("/", response_class=HTMLResponse)
    async def form_page() -> Any:
        return page("form.html.j2")

    @app.get("/healthz")
    async def health() -> Any:
        r = renderer
        return JSONResponse({"ok": True, "workers": r.workers, "waiting": r.waiting,
                             "capacity": r.capacity, "done": r.done, "refused": r.refused})

    @app.post("/plan")
    async def plan_fragment(request: Request) -> Any:
        """The plan in words, for the page's script (the Preview button does the same
        without it)."""
        posted = split((await read_form(request)).multi_items())
        posted.options.pop("encrypt", None)  # the script never sends the password here
        if plans.locked():
            return JSONResponse({"busy": BUSY}, 503, headers={"Retry-After": "2"})
        async with plans:
            plan, errors, problems = await asyncio.to_thread(check, posted)
        html = env.get_template("plan.html.j2").render(plan=plan, problems=problems)
        return JSONResponse({"html": html, "errors": errors, "problems": problems,
                             "summary": summary(plan)})

    @app.post("/booklet")
    async def booklet(request: Request) -> Any:
        posted = split((await read_form(request)).multi_items())
        keep = {"values": posted.values, "options": posted.options}
        if posted.options.get("preview"):
            plan, errors, problems = await asyncio.to_thread(check, posted)
            return page("form.html.j2", 422 if problems else 200, plan=plan, errors=errors,
                        problems=problems, preview=True, **keep)
        problems = option_problems(posted.options)
        if problems:
            plan, errors, problems = await asyncio.to_thread(check, posted)
            return page("form.html.j2", 422, plan=plan, errors=errors, problems=problems, **keep)
        job = make_job(posted)
        try:
            result = await renderer.run(job)
        except Busy:
            return busy(page("form.html.j2", 503, notice=BUSY, **keep))
        except Failed:
            return page("form.html.j2", 500, notice="The booklet could not be made; try again.",
                        **keep)
        if "problems" in result:
            errors = errors_by_field(result["problems"], all_keys())
            return page("form.html.j2", 422, errors=errors, problems=result["problems"], **keep)
        disposition = "inline" if posted.options.get("deliver") == "open" else "attachment"
        return Response(result["pdf"], media_type="application/pdf", headers={
            "Content-Disposition": f'{disposition}; filename="booklet.pdf"',
            "X-Booklet-Pages": str(result["pages"])})

    def make_job(posted: Posted) -> Job:
        o = posted.options
        return Job(data=posted.data, date=settings.date(),
                   paper="a4" if o.get("paper") == "a4" else "letter",
                   large_print=bool(o.get("large_print")),
                   imposition="booklet" if o.get("imposition") == "booklet" else "none",
                   all_medicines=bool(o.get("all_medicines")),
                   password=o.get("password", "") if o.get("encrypt") else "")

    # ------------------------------------------------------------ many booklets

    @app.get("/batch", response_class=HTMLResponse)
    async def batch_page() -> Any:
        return page("batch.html.j2")

    @app.post("/batch")
    async def batch(request: Request) -> Any:
        from booklet.batch import InputError, Summary, check_rows, read_rows, write_errors

        form = await read_form(request)
        upload = form.get("upload")
        posted = split(form.multi_items())
        keep = {"options": posted.options}
        problems = option_problems(posted.options)
        if upload is None or isinstance(upload, str) or not upload.filename:
            problems.append("field 'upload': choose a CSV file with one patient a row")
        if problems:
            await form.close()
            return page("batch.html.j2", 422, errors=errors_by_field(problems, all_keys()),
                        problems=problems, **keep)
        if batch_lock.locked():
            await form.close()
            return busy(page("batch.html.j2", 503, notice=BUSY, **keep))
        tmp = Path(tempfile.mkdtemp(prefix="booklet-web-"))
        cleanup = BackgroundTask(shutil.rmtree, tmp, ignore_errors=True)
        try:
            async with batch_lock:
                source = tmp / "upload.csv"
                source.write_bytes(await upload.read())
                await form.close()
                try:
                    rows = read_rows(source)
                except InputError as exc:
                    shutil.rmtree(tmp, ignore_errors=True)
                    problems = [p.replace(str(source), upload.filename or "the file")
                                .replace("batch input:", "field 'upload':")
                                for p in exc.problems]
                    return page("batch.html.j2", 422, problems=problems,
                                errors={"upload": problems}, **keep)
                if len(rows) > settings.max_rows:
                    shutil.rmtree(tmp, ignore_errors=True)
                    problems = [f"field 'upload': the file has {len(rows)} rows; this page makes "
                                f"at most {settings.max_rows} at a time (for more, use "
                                "`booklet batch` on the command line)"]
                    return page("batch.html.j2", 422, problems=problems,
                                errors={"upload": problems}, **keep)
                started = time.perf_counter()
                outcomes = await asyncio.to_thread(check_rows, rows, tmp / "out", "{id}.pdf")
                zipped = tmp / "booklets.zip"
                pdfs = await render_rows(outcomes, posted)
                summary = Summary(outcomes, time.perf_counter() - started)
                write_errors(summary, tmp / "errors.csv")
                with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as z:
                    for outcome in summary.rendered:
                        z.writestr(outcome.output.name, pdfs.pop(id(outcome)))
                    z.write(tmp / "errors.csv", "errors.csv")
            headers = {"Content-Disposition": 'attachment; filename="booklets.zip"',
                       "X-Booklet-Rendered": str(len(summary.rendered)),
                       "X-Booklet-Failed": str(len(summary.failed))}
            return FileResponse(zipped, media_type="application/zip", headers=headers,
                                background=cleanup)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    async def render_rows(outcomes: list[Any], posted: Posted) -> dict[int, bytes]:
        """Each good row through the shared pool, at most one row a worker at a time, so
        that single booklets asked for meanwhile still get their turn."""
        gate = asyncio.Semaphore(renderer.workers)
        base = make_job(posted)
        pdfs: dict[int, bytes] = {}

        async def one(outcome: Any) -> None:
            async with gate:
                while True:
                    try:
                        renderer.admit()
                        break
                    except Busy:
                        renderer.refused -= 1  # a batch row waits; it is not refused
                        await asyncio.sleep(0.2)
                try:
                    job = Job(**{**base.__dict__, "data": outcome.row.data})
                    result = await renderer.run(job, admitted=True)
                except (Busy, Failed):
                    result = {"problems": ["the booklet could not be made in time; try this row again"]}
                finally:
                    renderer.release()
            if "problems" in result:
                outcome.problems = result["problems"]
                outcome.output = None
            else:
                outcome.pages, outcome.size = result["pages"], len(result["pdf"])
                pdfs[id(outcome)] = result["pdf"]

        await asyncio.gather(*(one(o) for o in outcomes if o.output and not o.problems))
        return pdfs

    # ------------------------------------------------------------ FHIR (when available)

    @app.post("/fhir")
    async def fhir(request: Request) -> Any:
        form = await read_form(request)
        upload = form.get("upload")
        if not fhir_hook.available():
            await form.close()
            return page("form.html.j2", 501, notice="Filling the form from a FHIR record is not "
                        "available in this version.")
        if upload is None or isinstance(upload, str) or not upload.filename:
            await form.close()
            problems = ["field 'upload': choose a FHIR Bundle (.json) file"]
            return page("form.html.j2", 422, problems=problems, errors={"upload": problems})
        with tempfile.TemporaryDirectory(prefix="booklet-web-") as tmp:
            path = Path(tmp) / "bundle.json"
            path.write_bytes(await upload.read())
            await form.close()
            try:
                data, warnings = await asyncio.to_thread(
                    fhir_hook.profile_data, path, settings.date(), library().drug_names)
            except BookletError as exc:
                problems = [p.replace(str(path), upload.filename or "the file")
                            for p in exc.problems]
                return page("form.html.j2", 422, problems=problems, errors={"upload": problems})
        values = profile_from_values(data)
        posted = split((k, v) for k, vs in values.items() for v in vs)
        plan, errors, problems = await asyncio.to_thread(check, posted)
        return page("form.html.j2", 200, values=posted.values, plan=plan, errors=errors,
                    problems=problems, warnings=warnings)

    # ------------------------------------------------------------ sign-in (with a token)

    @app.get("/sign-in", response_class=HTMLResponse)
    async def sign_in_page() -> Any:
        return page("sign-in.html.j2")

    @app.post("/sign-in")
    async def sign_in(request: Request) -> Any:
        form = await read_form(request)
        given = str(form.get("token", ""))
        if not settings.token or not hmac.compare_digest(
                given.encode(), settings.token.encode()):
            await asyncio.sleep(1)  # slows guessing
            problems = ["field 'token': this is not the access code for this server"]
            return page("sign-in.html.j2", 401, problems=problems, errors={"token": problems})
        response = Response(status_code=303, headers={"location": "/"})
        response.set_cookie("booklet_session", session, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path="/")
        return response

    app.add_middleware(_LimitBody, settings=settings)  # outermost: before anything reads the body
    return app


def busy(response: Any) -> Any:
    response.headers["Retry-After"] = "5"
    return response


def option_problems(options: dict[str, str]) -> list[str]:
    """The print options, checked with the CLI's words."""
    from booklet.finish import check_password

    problems = []
    if options.get("paper") not in (None, "", "letter", "a4"):
        problems.append(f"field 'paper': '{options['paper'][:20]}' is not one of letter, a4")
    if options.get("imposition") not in (None, "", "none", "booklet"):
        problems.append(f"field 'imposition': '{options['imposition'][:20]}' is not one of "
                        "none, booklet")
    if options.get("encrypt"):
        password = options.get("password", "")
        if not password:
            problems.append("field 'password': give a password to encrypt the booklet "
                            "(8 characters or more)")
        else:
            try:
                check_password(password, "field 'password'")
            except BookletError as exc:
                problems += exc.problems
    return problems


def summary(plan: Any) -> str:
    """One line for the screen reader's status message when the plan changes."""
    if plan is None:
        return ""
    now = len(plan.current)
    steps = len(plan.walk())
    return (f"Updated: {steps} sections, {now} medicine{'s' if now != 1 else ''} now, "
            f"{len(plan.drugs) - now} to hear about later.")
