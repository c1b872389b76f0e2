"""The web listener's application: survey links, ``/healthz`` and ``/metrics``.

A GET never records anything (mail scanners open every link): it shows the chosen rating
with one button and an optional comment; the POST that button sends records it. The pages
take nothing from the URL but the signed token and a rating of the survey's scale, and
escape everything they show. Database work runs in a worker thread, off the event loop
that also serves SMTP: a scrape of ``/metrics`` reads the database too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.orm import Session, sessionmaker

from maild.config import Config
from maild.csat.links import survey_of_token
from maild.csat.ratings import Verdict, record_rating, standing
from maild.csat.surveys import LABELS
from maild.metrics import CONTENT_TYPE
from maild.ticketing.editor import TicketEditor
from parsing.rating import SCALES
from parsing.ticketref import format_ticket_tag
from storage import surveys

log = logging.getLogger(__name__)

_PAGES = Environment(
    loader=PackageLoader("maild.web", "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class RatingPages:
    def __init__(
        self,
        config: Config,
        sessions: sessionmaker[Session],
        secret: bytes,
        now: Callable[[], datetime],
        *,
        fire: Callable[[TicketEditor, str], None] | None = None,
        health: Callable[[], str | None] | None = None,
        metrics: Callable[[], bytes] | None = None,
    ) -> None:
        self._fire = fire
        self._health = health
        self._metrics = metrics
        self._config = config
        self._sessions = sessions
        self._secret = secret
        self._now = now
        self._mailbox_name = config.mailboxes[0].name

    def app(self) -> web.Application:
        application = web.Application(client_max_size=64 * 1024)
        application.add_routes(
            [
                web.get("/healthz", self.health),
                web.get("/metrics", self.metrics),
                web.get("/csat/{token}/{rating}", self.show),
                web.post("/csat/{token}", self.rate),
            ]
        )
        return application

    async def health(self, request: web.Request) -> web.Response:
        """``ok`` while the writer runs and the database answers; 503 and why, when not
        (a load balancer then sends mail to another MX)."""
        problem = await self._in_thread(self._health) if self._health else None
        if problem is not None:
            return web.Response(text=f"unhealthy: {problem}\n", status=503)
        return web.Response(text="ok\n")

    async def metrics(self, request: web.Request) -> web.Response:
        """Prometheus's text format. The gauges are read from the database, in a worker
        thread: a scrape must not stall the SMTP sessions on this loop."""
        if self._metrics is None:
            raise web.HTTPNotFound()
        body = await self._in_thread(self._metrics)
        return web.Response(
            body=body, headers={"Content-Type": CONTENT_TYPE, "Cache-Control": "no-store"}
        )

    async def show(self, request: web.Request) -> web.Response:
        token, rating = request.match_info["token"], request.match_info["rating"].lower()
        state = await self._in_thread(self._read, token)
        if state is None:
            return self._page("unknown", status=404)
        verdict = standing(state, rating, self._now())
        if verdict is Verdict.UNKNOWN:
            return self._page("unknown", status=404)
        if verdict is Verdict.EXPIRED:
            return self._page("expired", state=state, status=410)
        if verdict is Verdict.LOCKED:
            return self._page("recorded", state=state, rating=state.rating or "")
        return self._page(
            "confirm", state=state, rating=rating, token=token, comment=state.comment or ""
        )

    async def rate(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        form = await request.post()
        rating = str(form.get("rating", "")).lower()
        # Browsers send a textarea's line breaks as CRLF (the HTML form encoding); store
        # them as mail-given comments are, with LF.
        comment = str(form.get("comment", "")).replace("\r\n", "\n").replace("\r", "\n")
        survey_id = survey_of_token(self._secret, token)
        if survey_id is None:
            return self._page("unknown", status=404)
        outcome = await self._in_thread(self._record, survey_id, rating, comment)
        if outcome.verdict is Verdict.UNKNOWN:
            return self._page("unknown", status=404)
        if outcome.verdict is Verdict.EXPIRED:
            return self._page("expired", state=outcome.survey, status=410)
        state = outcome.survey
        assert state is not None
        if outcome.verdict is Verdict.LOCKED:
            return self._page("recorded", state=state, rating=state.rating or "")
        return self._page("thanks", state=state, rating=rating, changeable=True)

    # -- database, in a worker thread ------------------------------------------------------

    async def _in_thread(self, function: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, function, *args)

    def _read(self, token: str) -> surveys.SurveyState | None:
        survey_id = survey_of_token(self._secret, token)
        if survey_id is None:
            return None
        with self._sessions() as session:
            return surveys.survey(session.connection(), survey_id)

    def _record(self, survey_id: int, rating: str, comment: str) -> Any:
        with self._sessions.begin() as session:
            return record_rating(
                session.connection(),
                survey_id,
                rating,
                comment=comment,
                via="web",
                now=self._now(),
                actor="survey:web",
                fire=self._fire,
            )

    # -- pages ---------------------------------------------------------------------------------

    def _page(
        self,
        state_name: str,
        *,
        state: surveys.SurveyState | None = None,
        rating: str = "",
        token: str = "",
        comment: str = "",
        changeable: bool = False,
        status: int = 200,
    ) -> web.Response:
        scale = state.scale if state is not None else "1-5"
        labels = LABELS.get(scale, {})
        tag = (
            format_ticket_tag(self._config.maild.ticket_prefix, state.ticket_number)
            if state is not None
            else ""
        )
        html = _PAGES.get_template("rating.html.j2").render(
            state=state_name,
            mailbox_name=self._mailbox_name,
            ticket_tag=tag,
            rating=rating,
            label=labels.get(rating, rating),
            choices=[{"value": v, "label": labels[v]} for v in reversed(SCALES[scale])],
            token=token,
            comment=comment,
            changeable=changeable,
        )
        return web.Response(text=html, content_type="text/html", status=status, headers=_HEADERS)
