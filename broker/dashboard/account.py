"""The resident's account: download everything (GDPR articles 15 and 20) and delete it
(article 17).

* ``GET /account``: what the broker holds, the two downloads, and the deletion form.
* ``GET /account/export.json`` and ``GET /account/transfers.csv``: the downloads.
* ``POST /account/delete``: CSRF-checked, and only with the confirmation box ticked.
  Every consent still open is revoked first (services are told, holders asked to
  revoke), then the account goes, all in one transaction.
* ``GET /account/deleted``: the goodbye page (no session needed).
"""

from __future__ import annotations

import json

import structlog
from aiohttp import web

from broker.gdpr.erase import SqlSubjectEraser
from broker.gdpr.export import export_document, ledger_entries, transfers_csv
from broker.keys import SETTINGS
from broker.unit import unit_of_work
from broker.web.csrf import check_csrf
from broker.web.render import PageError, render
from broker.web.session import SESSION_COOKIE, require_resident
from consent.control import erase_resident

log = structlog.get_logger(__name__)

CONFIRM_FIELD = "confirm"
CONFIRM_VALUE = "delete-everything"


async def account_page(request: web.Request) -> web.StreamResponse:
    resident = await require_resident(request)
    async with unit_of_work(request.app) as uow:
        consents = await uow.consents.list_for_subject(resident.id)
    live = [c for c in consents if not c.state.is_final]
    return render(
        request,
        "dashboard/account.html",
        consents_count=len(consents),
        live_count=len(live),
        confirm_field=CONFIRM_FIELD,
        confirm_value=CONFIRM_VALUE,
    )


def _download(body: str, content_type: str, filename: str) -> web.Response:
    return web.Response(
        text=body,
        content_type=content_type,
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def export_json(request: web.Request) -> web.StreamResponse:
    resident = await require_resident(request)
    async with unit_of_work(request.app) as uow:
        document = await export_document(
            uow, resident, issuer=request.app[SETTINGS].issuer, now=uow.now
        )
    log.info("gdpr.export", format="json")
    body = json.dumps(document, ensure_ascii=False, indent=2)
    return _download(body, "application/json", "aiguillage-mes-donnees.json")


async def export_csv(request: web.Request) -> web.StreamResponse:
    resident = await require_resident(request)
    async with unit_of_work(request.app) as uow:
        entries = await ledger_entries(uow, resident.id)
    log.info("gdpr.export", format="csv")
    return _download(transfers_csv(entries), "text/csv", "aiguillage-transferts.csv")


async def delete_account(request: web.Request) -> web.StreamResponse:
    form = await check_csrf(request)
    resident = await require_resident(request)
    if form.get(CONFIRM_FIELD) != CONFIRM_VALUE:
        raise PageError(400, "account.delete.unconfirmed")
    async with unit_of_work(request.app) as uow:
        ended = await erase_resident(uow, SqlSubjectEraser(uow), subject=resident.id, now=uow.now)
    log.info("gdpr.erased", consents=len(ended))
    response = web.HTTPSeeOther("/account/deleted")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


async def deleted_page(request: web.Request) -> web.StreamResponse:
    return render(request, "dashboard/account_deleted.html")


def setup(app: web.Application) -> None:
    app.router.add_get("/account", account_page)
    app.router.add_get("/account/export.json", export_json)
    app.router.add_get("/account/transfers.csv", export_csv)
    app.router.add_post("/account/delete", delete_account)
    app.router.add_get("/account/deleted", deleted_page)
