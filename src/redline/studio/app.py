"""The studio's Starlette app: server-rendered pages (Runs, Label, Agreement, Probe) over one results store."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from jinja2 import FileSystemLoader
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import RedlineError
from ..policy.model import load_policy
from ..probes.behavior import CATEGORIES
from ..records import GenerationParams
from ..report.html import CSP as REPORT_CSP
from ..report.html import _env as report_env
from ..report.html import render_report
from ..store.db import Store
from ..store.queries import get_run, list_runs, resolve_run_id
from ..summary import stored_summary
from . import data
from .access import Access, AccessMiddleware
from .probe import Chat, Prober, rewrite_attacks

HERE = Path(__file__).parent
NAME_COOKIE = "rl_name"
MAX_FORM = 1_000_000  # bytes; forms carry a message or a label, never files


class Studio:
    """State of one studio process: the store, the configured targets, and each browser session's chat."""

    def __init__(self, store: Store, targets: list[str], access: Access) -> None:
        self.store, self.access = store, access
        self.prober = Prober(targets)
        self.chats: dict[str, Chat] = {}
        self.env = report_env()  # the report's autoescaping environment: every value is escaped
        self.env.loader = FileSystemLoader(HERE / "templates")

    def page(self, request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
        html = self.env.get_template(name).render(
            csrf=request.state.csrf, page=name.split(".")[0], me=request.cookies.get(NAME_COOKIE, ""), **values
        )
        return HTMLResponse(html, status_code=status)

    async def form(self, request: Request) -> dict[str, str]:
        """The posted form, refused unless it carries this session's CSRF token."""
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            raise RedlineError("forms are posted url-encoded")
        body = await request.body()
        if len(body) > MAX_FORM:
            raise RedlineError("the form is too large")
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        if not self.access.csrf_ok(request.state.session, form.get("csrf")):
            raise PermissionError("missing or wrong form token (reload the page)")
        return form

    # Runs ---------------------------------------------------------------------------------------------------
    async def runs(self, request: Request) -> Response:
        return self.page(request, "runs.html.j2", runs=list_runs(self.store))

    async def run(self, request: Request) -> Response:
        run_id = resolve_run_id(self.store, request.path_params["run_id"], kind="")
        summary = await run_in_threadpool(stored_summary, self.store, run_id)
        return self.page(request, "run.html.j2", s=summary, run=get_run(self.store, run_id))

    async def report(self, request: Request) -> Response:
        from ..report.data import build_data

        run_id = resolve_run_id(self.store, request.path_params["run_id"], kind="")
        html = await run_in_threadpool(lambda: render_report(build_data(self.store, run_id, load_policy())))
        return HTMLResponse(html, headers={"Content-Security-Policy": REPORT_CSP})

    async def diff(self, request: Request) -> Response:
        from ..report.diff import diff_runs

        a, b = request.query_params.get("a", ""), request.query_params.get("b", "")
        if not a or not b:
            raise RedlineError("pick two runs to compare")
        result = await run_in_threadpool(diff_runs, self.store, resolve_run_id(self.store, a, kind=""),
                                         resolve_run_id(self.store, b, kind=""))
        return self.page(request, "diff.html.j2", d=result)

    # Label --------------------------------------------------------------------------------------------------
    def _filter(self, q: Any) -> data.QueueFilter:
        runs = list_runs(self.store)
        run_id = q.get("run") or next((r["run_id"] for r in runs if r["attempts"]), "")
        if not run_id:
            raise RedlineError("no run with attempts in this database yet")
        try:
            seed = int(q.get("seed") or 0)
        except ValueError:
            raise RedlineError("seed must be a whole number") from None
        return data.QueueFilter(resolve_run_id(self.store, run_id, kind=""), q.get("category", ""),
                                q.get("verdict", ""), q.get("order") or "stored", seed)

    async def label(self, request: Request) -> Response:
        f = self._filter(request.query_params)
        me = request.cookies.get(NAME_COOKIE, "")
        queue = await run_in_threadpool(data.label_queue, self.store, f, me)
        current = queue.left[0] if queue.left else None
        reveal = current is not None and request.query_params.get("reveal") == str(current.attempt_id)
        query = {"run": f.run_id, "category": f.category, "verdict": f.verdict, "order": f.order, "seed": f.seed}
        return self.page(request, "label.html.j2", f=f, queue=queue, a=current, reveal=reveal,
                         runs=list_runs(self.store), verdicts=data.VERDICT_FILTERS, query=urlencode(query),
                         saved=request.query_params.get("saved"))

    async def save_label(self, request: Request) -> Response:
        form = await self.form(request)
        name = data.check_name(form.get("name", ""))
        try:
            attempt_id, harm = int(form.get("attempt_id", "")), float(form.get("harm") or 0)
        except ValueError:
            raise RedlineError("attempt and harm must be numbers") from None
        await run_in_threadpool(data.save_label, self.store, attempt_id, name, form.get("label", ""), harm)
        keep = {k: form.get(k, "") for k in ("run", "category", "verdict", "order", "seed")}
        response = RedirectResponse(f"/label?{urlencode({**keep, 'saved': attempt_id})}", 303)
        response.set_cookie(NAME_COOKIE, name, samesite="strict", path="/")
        return response

    # Agreement ----------------------------------------------------------------------------------------------
    async def agreement(self, request: Request) -> Response:
        ref = request.query_params.get("run", "")
        run_id = resolve_run_id(self.store, ref, kind="") if ref else None
        result = await run_in_threadpool(data.agreement, self.store, run_id)
        return self.page(request, "agreement.html.j2", r=result, runs=list_runs(self.store))

    async def export(self, request: Request) -> Response:
        run_id = resolve_run_id(self.store, request.query_params.get("run", ""), kind="")
        text = await run_in_threadpool(data.export_generic, self.store, run_id)
        return PlainTextResponse(text, media_type="text/csv", headers={
            "Content-Disposition": f'attachment; filename="labels-{run_id}.csv"'})

    # Probe --------------------------------------------------------------------------------------------------
    def _chat(self, request: Request) -> Chat | None:
        return self.chats.get(request.state.session)

    async def probe(self, request: Request) -> Response:
        return self.page(request, "probe.html.j2", chat=self._chat(request), targets=self.prober.specs,
                         attacks=rewrite_attacks(), categories=CATEGORIES, severities=data.SEVERITIES,
                         labels=data.LABELS, saved=request.query_params.get("saved"))

    async def probe_send(self, request: Request) -> Response:
        form = await self.form(request)
        chat = self._chat(request)
        if chat is None:
            target = form.get("target") or (self.prober.specs[0] if self.prober.specs else "")
            chat = Chat(target=target, system=form.get("system", ""))
        try:
            params = GenerationParams(max_new_tokens=max(1, min(1024, int(form.get("max_new_tokens") or 128))),
                                      temperature=max(0.0, min(2.0, float(form.get("temperature") or 0))),
                                      top_p=max(0.01, min(1.0, float(form.get("top_p") or 1))),
                                      seed=int(form.get("seed") or 0))
        except ValueError:
            raise RedlineError("max tokens, temperature, top-p and seed must be numbers") from None
        await run_in_threadpool(self.prober.send, chat, form.get("message", ""), form.get("attack", ""), params)
        self.chats[request.state.session] = chat
        return RedirectResponse("/probe", 303)

    async def probe_reset(self, request: Request) -> Response:
        await self.form(request)
        self.chats.pop(request.state.session, None)
        return RedirectResponse("/probe", 303)

    async def probe_branch(self, request: Request) -> Response:
        """Continue the conversation from turn N: the turns after it are dropped (save them first to keep them)."""
        form = await self.form(request)
        chat = self._chat(request)
        try:
            keep = int(form.get("turn", ""))
        except ValueError:
            raise RedlineError("turn must be a number") from None
        if chat is None or not 0 <= keep < len(chat.turns):
            raise RedlineError("no such turn in this conversation")
        del chat.turns[keep + 1 :]
        return RedirectResponse("/probe", 303)

    async def probe_save(self, request: Request) -> Response:
        form = await self.form(request)
        chat = self._chat(request)
        ok = [t for t in chat.turns if t.error is None] if chat else []
        if not chat or not ok:
            raise RedlineError("nothing to save: send a message first")
        last = ok[-1]
        try:
            harm = float(form.get("harm") or 0)
        except ValueError:
            raise RedlineError("harm must be a number from 0 to 1") from None
        attacks = sorted({t.attack for t in ok})
        finding = data.FindingIn(
            tester=data.check_name(form.get("tester", "")), target=chat.target, category=form.get("category", ""),
            severity=form.get("severity", ""), goal=ok[0].typed, conversation=chat.conversation(),
            response=last.reply, decoded_response=last.decoded, attack="manual:" + "+".join(attacks),
            family="manual", label=form.get("label", "complied"), harm=harm, notes=form.get("notes", ""),
            tags=[t.strip() for t in form.get("tags", "").split(",") if t.strip()],
            params={"system": chat.system, "typed": [t.typed for t in ok]},
        )
        run_id, attempt_id = await run_in_threadpool(data.save_finding, self.store, finding)
        response = RedirectResponse(f"/probe?{urlencode({'saved': f'{run_id}#{attempt_id}'})}", 303)
        response.set_cookie(NAME_COOKIE, finding.tester, samesite="strict", path="/")
        return response


def create_app(store: Store, targets: list[str] | None = None, token: str | None = None) -> Starlette:
    """The studio over `store`; `targets` are the specs testers may probe; `token` (None = none) is then
    required on every request."""
    studio = Studio(store, list(targets or []), Access(token))

    async def bad_input(request: Request, exc: Exception) -> Response:
        return studio.page(request, "error.html.j2", status=400, message=str(exc))

    async def refused(request: Request, exc: Exception) -> Response:
        return PlainTextResponse(str(exc), status_code=403)

    routes = [
        Route("/", studio.runs),
        Route("/runs/{run_id}", studio.run),
        Route("/runs/{run_id}/report", studio.report),
        Route("/diff", studio.diff),
        Route("/label", studio.label),
        Route("/label", studio.save_label, methods=["POST"]),
        Route("/agreement", studio.agreement),
        Route("/agreement/export", studio.export),
        Route("/probe", studio.probe),
        Route("/probe/send", studio.probe_send, methods=["POST"]),
        Route("/probe/reset", studio.probe_reset, methods=["POST"]),
        Route("/probe/save", studio.probe_save, methods=["POST"]),
        Route("/probe/branch", studio.probe_branch, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={RedlineError: bad_input, PermissionError: refused})
    app.add_middleware(AccessMiddleware, access=studio.access)
    app.state.studio = studio
    return app
