"""The dashboard at /_sandbox/ui: what a person looks at in a demo. Server-rendered; reads and writes only
through the domain services (the same ones the API uses)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from enkash_sandbox.control import charts
from enkash_sandbox.control.security import COOKIE
from enkash_sandbox.control.templates import render
from enkash_sandbox.domain import magic
from enkash_sandbox.domain.requests import AllocatePoints
from enkash_sandbox.domain.validation import validation_error
from enkash_sandbox.errors import VendorError
from enkash_sandbox.money import AmountError, parse_amount
from enkash_sandbox.store.state import SnapshotError

router = APIRouter(prefix="/ui", include_in_schema=False)
BASE = "/_sandbox/ui"


def _core(request: Request):
    return request.app.state.core


def _page(request: Request, template: str, **context) -> HTMLResponse:
    params = request.query_params
    return HTMLResponse(render(template, base=BASE, notice=params.get("notice"), error=params.get("error"),
                               admin=bool(_core(request).settings.admin_token), **context))


def _back(path: str, *, notice: str | None = None, error: str | None = None) -> RedirectResponse:
    query = urlencode({k: v for k, v in (("notice", notice), ("error", error)) if v})
    return RedirectResponse(f"{BASE}{path}" + (f"?{query}" if query else ""), status_code=303)


async def _form(request: Request) -> dict:
    raw = await request.body()
    try:
        return {k: v[0] for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()}
    except UnicodeDecodeError:
        return {}


async def _act(path: str, fn, *args, notice: str) -> RedirectResponse:
    """Run a domain action off the event loop and come back to `path` with its outcome."""
    try:
        result = await run_in_threadpool(fn, *args)
    except VendorError as exc:
        return _back(path, error=exc.message)
    except (SnapshotError, AmountError, ValueError) as exc:
        return _back(path, error=str(exc))
    return _back(path, notice=notice.format(result=result))


# -- pages -----------------------------------------------------------------------------------------
@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
def overview(request: Request):
    core = _core(request)
    return _page(request, "ui_overview.html", data=core.dashboard.overview(), clock=core.clock.state(),
                 seed=core.db.seed)


@router.get("/partners/{partner_id}", response_class=HTMLResponse)
def partner(partner_id: str, request: Request):
    data = _core(request).dashboard.partner(partner_id)
    if data is None:
        raise HTTPException(404, f"unknown partner {partner_id}")
    return _page(request, "ui_partner.html", data=data)


@router.get("/partners/{partner_id}/orders", response_class=HTMLResponse)
def orders(partner_id: str, request: Request):
    return _page(request, "ui_orders.html", partner_id=partner_id, orders=_core(request).dashboard.orders(partner_id))


@router.get("/accounts/{account_id}", response_class=HTMLResponse)
def account(account_id: str, request: Request):
    data = _core(request).dashboard.account(account_id)
    if data is None:
        raise HTTPException(404, f"unknown card account {account_id}")
    return _page(request, "ui_account.html", data=data,
                 balance_chart=charts.line(data["series"], title="Available balance over time"),
                 monthly_chart=charts.bars(data["monthly"], title="Allocations vs redemptions per month"))


@router.get("/cards/{card_id}", response_class=HTMLResponse)
def card(card_id: str, request: Request):
    data = _core(request).dashboard.card(card_id)
    if data is None:
        raise HTTPException(404, f"unknown card {card_id}")
    return _page(request, "ui_card.html", data=data,
                 balance_chart=charts.line(data["series"], title="Card balance over time"))


@router.get("/journal", response_class=HTMLResponse)
def journal(request: Request):
    return _page(request, "ui_journal.html", entries=_core(request).journal.query(limit=50))


@router.get("/faults", response_class=HTMLResponse)
def faults(request: Request):
    core = _core(request)
    core.faults.invalidate()
    s = core.settings
    return _page(request, "ui_faults.html", rules=core.faults.rules(),
                 magic=magic.table(s.magic_slow_seconds, s.fault_timeout_seconds, s.pending_order_seconds))


@router.get("/snapshots", response_class=HTMLResponse)
def snapshots(request: Request):
    state = _core(request).state
    return _page(request, "ui_snapshots.html", snapshots=[state.describe(n) for n in state.names()])


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request):
    return _page(request, "ui_login.html")


# -- actions ---------------------------------------------------------------------------------------
@router.post("/login")
async def login(request: Request):
    form = await _form(request)
    token = _core(request).settings.admin_token
    if not token or form.get("token") != token:
        return _back("/login", error="That is not the admin token")
    response = _back("", notice="Signed in")
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/_sandbox")
    return response


@router.post("/accounts/{account_id}/fund")
async def fund(account_id: str, request: Request):
    form = await _form(request)
    try:
        amount = parse_amount(form.get("amount", ""))
    except AmountError as exc:
        return _back(f"/accounts/{account_id}", error=f"amount {exc}")
    core = _core(request)
    return await _act(f"/accounts/{account_id}", core.tenants.fund, account_id, amount, form.get("remarks") or None,
                      notice=f"Funded ₹{amount:,.2f}")


@router.post("/accounts/{account_id}/allocate")
async def allocate(account_id: str, request: Request):
    form = await _form(request)
    core = _core(request)
    data = core.dashboard.account(account_id)
    if data is None:
        raise HTTPException(404, f"unknown card account {account_id}")
    body = {"companyId": data["account"].company_id, "cardAccountId": account_id, "transactionType": "CR",
            "type": "ALLOCATE_POINT", "transactionCode": "ALLOCATION", "loadAmount": form.get("amount", ""),
            "uniqueReferenceNumber": form.get("reference") or None}
    for key in ("mobile", "email", "firstName", "enkashCardId"):
        if form.get(key):
            body[key] = form[key]
    try:
        req = AllocatePoints.model_validate({k: v for k, v in body.items() if v is not None})
    except ValidationError as exc:
        return _back(f"/accounts/{account_id}", error=validation_error(exc).message)
    return await _act(f"/accounts/{account_id}", core.rewards.allocate, data["partner_id"], req,
                      notice="Allocated ₹{result[loadAmount]:,.2f} to {result[enKashCardId]}")


@router.post("/cards/{card_id}/status")
async def card_status(card_id: str, request: Request):
    form = await _form(request)
    code = form.get("blockCode", "")
    if code not in ("L", "UL", "BL"):
        return _back(f"/cards/{card_id}", error="blockCode must be L, UL or BL")
    label = {"L": "Locked", "UL": "Unlocked", "BL": "Blocked"}[code]
    back = form.get("back") or f"/cards/{card_id}"
    return await _act(back, _core(request).lifecycle.admin_set_status, card_id, code, notice=f"{label} {card_id}")


@router.post("/snapshots")
async def take_snapshot(request: Request):
    form = await _form(request)
    state = _core(request).state
    name = form.get("name", "")
    try:
        state.check_name(name)
    except SnapshotError as exc:
        return _back("/snapshots", error=str(exc))
    return await _act("/snapshots", state.take, name, notice=f"Snapshot {name} taken")


@router.post("/snapshots/{name}/restore")
async def restore_snapshot(name: str, request: Request):
    core = _core(request)

    def restore():
        core.state.restore(name)
        core.after_state_change()

    try:
        await run_in_threadpool(restore)
    except KeyError:
        return _back("/snapshots", error=f"No snapshot named {name}")
    return _back("/snapshots", notice=f"Restored {name}")


@router.post("/snapshots/{name}/delete")
async def delete_snapshot(name: str, request: Request):
    if not _core(request).state.delete(name):
        return _back("/snapshots", error=f"No snapshot named {name}")
    return _back("/snapshots", notice=f"Deleted {name}")


@router.post("/reset")
async def reset(request: Request):
    return await _act("", _core(request).reset, notice="The sandbox is back to its seeded state")


@router.post("/faults")
async def add_fault(request: Request):
    form = await _form(request)
    kind = form.get("type", "status")
    action: dict = {"type": kind}
    try:
        if kind == "status":
            action["status"] = int(form.get("status") or 500)
        if form.get("message"):
            action["message"] = form["message"]
        if form.get("latencyMs"):
            action["latencyMs"] = float(form["latencyMs"])
        if kind == "latency" and "latencyMs" not in action:
            raise ValueError("latency needs milliseconds")
        times = int(form["times"]) if form.get("times") else None
        probability = float(form["probability"]) if form.get("probability") else None
    except ValueError as exc:
        return _back("/faults", error=str(exc))
    spec = {"path": form.get("path") or "*", "action": action, "seed": 0}
    if form.get("method"):
        spec["method"] = form["method"].upper()
    if probability:
        spec["probability"] = probability
    core = _core(request)
    return await _act("/faults", core.faults.add_rule, spec, form.get("partnerId") or None, times,
                      notice="Fault rule added")


@router.post("/faults/{rule_id}/delete")
async def delete_fault(rule_id: str, request: Request):
    return await _act("/faults", _core(request).faults.delete_rule, rule_id, notice="Fault rule deleted")


