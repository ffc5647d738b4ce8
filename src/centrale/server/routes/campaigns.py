"""Outbound campaigns: campaigns, their contact lists and progress, and the do-not-call list.

A campaign is created from a *campaign document* — the YAML that ``centrale campaign check``
validates (docs/campaigns.md), as JSON — plus ``account`` and ``queue`` (the outbound queue of the
engine its answered calls go to). Lists are uploaded as CSV or XLSX files; each upload answers with
its import report (rows accepted, every rejected row with its reason). ``start``, ``pause`` and
``stop`` drive the live dialer (:mod:`centrale.server.dialer`). Do-not-call entries are kept per
account, or for the whole center (``*``, administrators only); the campaigns honour them from the
moment they are added.

Everything belongs to an account: a user sees only the campaigns, lists and do-not-call entries
of its accounts (404 for anything else). Every change is audited.
"""

from __future__ import annotations

import io
import json
from typing import Any

from fastapi import APIRouter, Body, Depends, File, Form, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field

from centrale.outbound.errors import ListImportError
from centrale.outbound.report import write_report
from centrale.server.deps import MAX_SQL_INT, audit, check_account, need, services
from centrale.server.dialer import (
    GLOBAL_SCOPE,
    PAUSED,
    RUNNING,
    STOPPED,
    CampaignProblem,
    CampaignRun,
    CampaignRunner,
    DocumentProblem,
    issue_from_json,
    lead_rows,
    normalise_dnc_number,
    parse_document,
    public_document,
)
from centrale.server.errors import ApiError
from centrale.server.security import Permission, Principal, Role

router = APIRouter(prefix="/api", tags=["campaigns"])

_READ = Depends(need(Permission.REPORTS_READ))
_WRITE = Depends(need(Permission.CAMPAIGNS_WRITE))
_LISTS = Depends(need(Permission.LISTS_WRITE))
_DNC = Depends(need(Permission.DNC_WRITE))

MAX_UPLOAD_BYTES = 200 * 1024 * 1024
_ACTIONS = {RUNNING: "campaign.start", PAUSED: "campaign.pause", STOPPED: "campaign.stop"}

CAMPAIGN_EXAMPLE: dict[str, Any] = {
    "account": "acme",
    "queue": "acme-outbound",
    "campaign": {"id": "winter", "name": "Winter offer"},
    "mode": "progressive",
    "caller_id": "+442079460000",
    "ring_timeout": "20s",
    "lists": [{"name": "customers", "region": "GB", "map": {"phone": "phone", "first_name": "name"}}],
    "retry": {"no_answer": {"delay": "2h", "max_attempts": 3}},
    "compliance": {"preset": "uk", "purpose": "telemarketing"},
    "dispositions": [
        {"code": "sale", "category": "sale"},
        {"code": "callback", "category": "callback"},
        {"code": "not_interested", "category": "not_interested"},
        {"code": "do_not_call", "category": "do_not_call"},
    ],
}


def runner(request: Request) -> CampaignRunner:
    found = services(request).extras.get("dialer")
    if not isinstance(found, CampaignRunner):
        raise ApiError(503, "campaign.unavailable", "outbound campaigns are not enabled on this server")
    return found


def _campaign(request: Request, who: Principal, campaign: str) -> CampaignRun:
    run = runner(request).run(campaign)
    if run is None or not who.sees_account(run.account):
        raise ApiError(404, "campaign.unknown", f"no campaign {campaign!r}")
    return run


def _problem(exc: DocumentProblem | CampaignProblem) -> ApiError:
    if isinstance(exc, DocumentProblem):
        return ApiError(422, "config.invalid", str(exc))
    return ApiError(exc.status, exc.code, exc.message)


def _summary(r: CampaignRunner, run: CampaignRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "name": run.name,
        "account": run.account,
        "queue": run.queue,
        "status": run.status,
        "mode": run.settings.mode.value,
        "pacing": run.settings.pacing,
        "created": run.created,
        "lists": sorted(run.lists),
        "progress": r.progress(run),
    }


def _detail(r: CampaignRunner, run: CampaignRun) -> dict[str, Any]:
    declared = [s.name for s in run.settings.lists]
    lists = [
        run.lists[name].summary() if name in run.lists else {"name": name, "uploaded": None}
        for name in declared
    ]
    return {
        **_summary(r, run),
        "lists": lists,
        "document": public_document(run.document, run.account, run.queue),
    }


# --- campaigns ------------------------------------------------------------------------------------
@router.get("/campaigns")
async def list_campaigns(request: Request, who: Principal = _READ) -> list[dict[str, Any]]:
    """Campaigns of your accounts with their progress."""
    r = runner(request)
    return [_summary(r, run) for _, run in sorted(r.runs.items()) if who.sees_account(run.account)]


@router.post("/campaigns", status_code=201)
async def create_campaign(
    request: Request,
    who: Principal = _WRITE,
    body: dict[str, Any] = Body(openapi_examples={"progressive": {"value": CAMPAIGN_EXAMPLE}}),
) -> dict[str, Any]:
    """Create a campaign (stopped) from a campaign document plus ``account`` and ``queue``.

    Lists declared in the document need no ``file``: upload them with POST …/lists. Disposition
    codes the engine does not know yet are added for the campaign's account, so agents can pick
    them. Problems: 422 ``config.invalid`` with ``where: problem``.
    """
    r = runner(request)
    account = body.get("account") if isinstance(body, dict) else None
    if account is None and isinstance(body, dict) and isinstance(body.get("campaign"), dict):
        account = body["campaign"].get("account")
    if isinstance(account, str):
        check_account(who, account)
    try:
        parsed = parse_document(body)
        check_account(who, parsed.account)
        run = await r.create(parsed)
    except (DocumentProblem, CampaignProblem) as exc:
        raise _problem(exc) from None
    audit(request, who, "campaign.create", run.id, run.account, {"document": body})
    return _detail(r, run)


@router.get("/campaigns/{campaign}")
async def get_campaign(campaign: str, request: Request, who: Principal = _READ) -> dict[str, Any]:
    """A campaign: its document, lists (with their import figures) and progress — leads by status,
    dialled, answered, connected, abandoned, abandon rate (overall and over the preset's window),
    dial level (lines in use per agent of its queue)."""
    return _detail(runner(request), _campaign(request, who, campaign))


@router.put("/campaigns/{campaign}")
async def update_campaign(
    campaign: str,
    request: Request,
    who: Principal = _WRITE,
    body: dict[str, Any] = Body(openapi_examples={"progressive": {"value": CAMPAIGN_EXAMPLE}}),
) -> dict[str, Any]:
    """Replace the document of a campaign that is not running; uploaded lists stay."""
    r = runner(request)
    run = _campaign(request, who, campaign)
    try:
        parsed = parse_document({"account": run.account, "queue": run.queue, **body}, campaign_id=campaign)
        await r.update(run, parsed)
    except (DocumentProblem, CampaignProblem) as exc:
        raise _problem(exc) from None
    audit(request, who, "campaign.update", run.id, run.account, {"document": body})
    return _detail(r, run)


@router.delete("/campaigns/{campaign}", status_code=204)
async def delete_campaign(campaign: str, request: Request, who: Principal = _WRITE) -> Response:
    """Delete a campaign that is not running and has no calls left, with its lists and position."""
    run = _campaign(request, who, campaign)
    try:
        runner(request).delete(run)
    except CampaignProblem as exc:
        raise _problem(exc) from None
    audit(request, who, "campaign.delete", run.id, run.account, {})
    return Response(status_code=204)


async def _set_status(campaign: str, status: str, request: Request, who: Principal) -> dict[str, Any]:
    r = runner(request)
    run = _campaign(request, who, campaign)
    before = run.status
    try:
        r.set_status(run, status)
    except CampaignProblem as exc:
        raise _problem(exc) from None
    audit(
        request,
        who,
        _ACTIONS[status],
        run.id,
        run.account,
        {"from": before, "to": status},
    )
    return _summary(r, run)


@router.post("/campaigns/{campaign}/start")
async def start_campaign(campaign: str, request: Request, who: Principal = _WRITE) -> dict[str, Any]:
    """Start (or resume) dialling. Needs an uploaded list and a trunk (409 otherwise)."""
    return await _set_status(campaign, RUNNING, request, who)


@router.post("/campaigns/{campaign}/pause")
async def pause_campaign(campaign: str, request: Request, who: Principal = _WRITE) -> dict[str, Any]:
    """No new dials; calls ringing or with agents end normally. ``start`` resumes."""
    return await _set_status(campaign, PAUSED, request, who)


@router.post("/campaigns/{campaign}/stop")
async def stop_campaign(campaign: str, request: Request, who: Principal = _WRITE) -> dict[str, Any]:
    """End the shift: no new dials; calls in progress end normally. The position is kept."""
    return await _set_status(campaign, STOPPED, request, who)


@router.get("/campaigns/{campaign}/leads")
async def list_leads(
    campaign: str,
    request: Request,
    status: str | None = Query(None, description="ready, in_progress, done, exhausted, previewing"),
    limit: int = Query(100, ge=1, le=10000),
    offset: int = Query(0, ge=0, le=MAX_SQL_INT),
    who: Principal = _READ,
) -> dict[str, Any]:
    """The campaign's leads: status, attempts, last outcome, disposition and why (blocked, retry …),
    and an agentless survey's answers."""
    run = _campaign(request, who, campaign)
    return {"items": lead_rows(run, status, limit, offset), "limit": limit, "offset": offset}


# --- lists ----------------------------------------------------------------------------------------
def _mapping(text: str | None) -> dict[str, Any] | None:
    """A column mapping as JSON (``{"phone": "Telefoon"}``) or ``field=Column`` pairs (``,`` or lines)."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ApiError(422, "config.invalid", f"mapping: not valid JSON ({exc.msg})") from None
        if not isinstance(value, dict):
            raise ApiError(422, "config.invalid", "mapping: expected an object field → column")
        return value
    out: dict[str, Any] = {}
    for pair in text.replace("\n", ",").split(","):
        if not pair.strip():
            continue
        name, sep, column = pair.partition("=")
        if not sep or not name.strip() or not column.strip():
            raise ApiError(422, "config.invalid", f"mapping: expected field=Column, got {pair.strip()!r}")
        key, col = name.strip(), column.strip()
        if key in out:
            prev = out[key]
            out[key] = [*prev, col] if isinstance(prev, list) else [prev, col]
        else:
            out[key] = col
    return out


def _report(run: CampaignRun, name: str) -> dict[str, Any]:
    uploaded = run.lists[name]
    return {**uploaded.summary(), "rejected_rows": uploaded.issues}


@router.post("/campaigns/{campaign}/lists", status_code=201)
async def upload_list(
    campaign: str,
    request: Request,
    file: UploadFile = File(..., description="the contact list: CSV (UTF-8, delimiter guessed) or XLSX"),
    name: str = Form(..., description="the list's name (a list declared in the document, or a new one)"),
    mapping: str | None = Form(
        None,
        description='column mapping: JSON {"phone": "Telefoon", …} or field=Column pairs; '
        "default: the document's map for this list",
    ),
    region: str | None = Form(None, description="ISO region for numbers without a country code (default NL)"),
    sheet: str | None = Form(None, description="XLSX: the sheet (default the first)"),
    encoding: str | None = Form(
        None, description="CSV: the encoding (default utf-8-sig; cp1252 for old Excel)"
    ),
    delimiter: str | None = Form(None, description="CSV: the delimiter (default: guessed from the header)"),
    strict: bool = Form(False, description="accept nothing if any row has a problem"),
    who: Principal = _LISTS,
) -> dict[str, Any]:
    """Import a contact list into the campaign. Answers with the report: rows, accepted, rejected,
    and every rejected row (or dropped value) with its row number, field, value, reason code and
    message. A number already in another list of the campaign is rejected as
    ``duplicate_in_campaign``. A file that cannot be read at all is 422 ``list.<code>``."""
    r = runner(request)
    run = _campaign(request, who, campaign)
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ApiError(
            413, "list.too_large", f"the file is larger than {MAX_UPLOAD_BYTES // 1024 // 1024} MB"
        )
    try:
        await r.import_list(
            run,
            name,
            file.filename or "",
            data,
            mapping=_mapping(mapping),
            region=region,
            sheet=sheet,
            encoding=encoding,
            delimiter=delimiter,
            strict=strict,
        )
    except (DocumentProblem, CampaignProblem) as exc:
        raise _problem(exc) from None
    except ListImportError as exc:
        raise ApiError(422, f"list.{exc.code}", str(exc)) from None
    report = _report(run, name)
    detail = {k: report[k] for k in ("file", "rows", "accepted", "rejected", "issues_by_code")}
    audit(request, who, "campaign.list.upload", f"{run.id}/{name}", run.account, detail)
    return report


@router.get("/campaigns/{campaign}/lists")
async def list_lists(campaign: str, request: Request, who: Principal = _READ) -> list[dict[str, Any]]:
    run = _campaign(request, who, campaign)
    return [run.lists[n].summary() for n in sorted(run.lists)]


@router.get("/campaigns/{campaign}/lists/{name}")
async def get_list(campaign: str, name: str, request: Request, who: Principal = _READ) -> dict[str, Any]:
    """A list's import report with every rejected row."""
    run = _campaign(request, who, campaign)
    if name not in run.lists:
        raise ApiError(404, "list.unknown", f"no list {name!r} in campaign {campaign!r}")
    return _report(run, name)


@router.get(
    "/campaigns/{campaign}/lists/{name}/rejected.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def rejected_csv(campaign: str, name: str, request: Request, who: Principal = _READ) -> Response:
    """The import report as CSV: row, field, raw_value, code, action, first_row, message."""
    run = _campaign(request, who, campaign)
    if name not in run.lists:
        raise ApiError(404, "list.unknown", f"no list {name!r} in campaign {campaign!r}")
    out = io.StringIO()
    write_report((issue_from_json(i) for i in run.lists[name].issues), out)
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{campaign}-{name}-rejected.csv"'},
    )


# --- do-not-call ----------------------------------------------------------------------------------
class DncBody(BaseModel):
    number: str = Field(min_length=1, max_length=40, description="any usual spelling; stored in E.164")
    scope: str = Field(min_length=1, max_length=64, description='an account id, or "*" (administrators)')
    region: str = Field("NL", min_length=2, max_length=2, description="for a number without country code")
    source: str = Field("", max_length=200, description="where the objection came from")


def _visible(r: CampaignRunner, who: Principal, scope: str) -> bool:
    account = r.dnc_account(scope)
    return who.unrestricted if account is None else who.sees_account(account)


def _number(raw: str, region: str = "NL") -> str:
    try:
        return normalise_dnc_number(raw, region)
    except ValueError as exc:
        raise ApiError(422, "config.invalid", f"number: {exc}") from None


@router.get("/dnc")
async def list_dnc(
    request: Request,
    number: str | None = Query(None, description="only this number (any spelling)"),
    scope: str | None = Query(None),
    region: str = Query("NL", min_length=2, max_length=2),
    who: Principal = _READ,
) -> list[dict[str, Any]]:
    """Do-not-call entries of your accounts (and, for administrators, the center-wide ``*`` list).
    Objections agents record with a do-not-call disposition appear here too."""
    r = runner(request)
    wanted = _number(number, region) if number is not None else None
    return [
        row
        for row in r.dnc_rows(wanted)
        if _visible(r, who, row["scope"]) and (scope is None or row["scope"] == scope)
    ]


@router.post("/dnc", status_code=201)
async def add_dnc(body: DncBody, request: Request, who: Principal = _DNC) -> dict[str, Any]:
    """Put a number on the do-not-call list of an account (or of the whole center: ``*``).
    Campaigns stop dialling it at once."""
    r = runner(request)
    number = _number(body.number, body.region)
    if body.scope == GLOBAL_SCOPE:
        if who.role is not Role.ADMINISTRATOR:
            raise ApiError(403, "auth.forbidden", "only administrators keep the center-wide do-not-call list")
    else:
        check_account(who, body.scope)
        if body.scope not in services(request).engine.accounts:
            raise ApiError(422, "config.invalid", f"scope: unknown account {body.scope!r}")
    try:
        row = r.add_dnc(number, body.scope, body.source or f"added by {who.username}")
    except CampaignProblem as exc:
        raise _problem(exc) from None
    account = None if body.scope == GLOBAL_SCOPE else body.scope
    audit(request, who, "dnc.add", number, account, {"scope": body.scope, "source": row["source"]})
    return row


@router.delete("/dnc/{number}", status_code=204)
async def remove_dnc(
    number: str,
    request: Request,
    scope: str = Query(..., description='the entry\'s scope: an account id or "*"'),
    region: str = Query("NL", min_length=2, max_length=2),
    who: Principal = _DNC,
) -> Response:
    """Take a number off one do-not-call list."""
    r = runner(request)
    e164 = _number(number, region)
    if not _visible(r, who, scope) or (scope == GLOBAL_SCOPE and who.role is not Role.ADMINISTRATOR):
        raise ApiError(404, "dnc.unknown", f"{e164} is not on that list")
    if not r.remove_dnc(e164, scope):
        raise ApiError(404, "dnc.unknown", f"{e164} is not on that list")
    audit(request, who, "dnc.remove", e164, r.dnc_account(scope), {"scope": scope})
    return Response(status_code=204)
