"""The dashboard at /_sandbox/ui: what a person looks at in a demo. Server-rendered; reads and writes only
through the domain services (the same ones the API uses)."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import parse_qs, urlencode

from enkash_sandbox import profile as profiles
from enkash_sandbox.control import charts
from enkash_sandbox.control.common import ops, sandbox
from enkash_sandbox.control.security import COOKIE
from enkash_sandbox.crypto import same_secret
from enkash_sandbox.errors import VendorError
from enkash_sandbox.faults import magic
from enkash_sandbox.ops.actions import (
    ClockSpec,
    FundSpec,
    OpsError,
    ProvisionSpec,
    ResetSpec,
    RestoreSpec,
    SnapshotSpec,
    UnlockSpec,
    fault_spec_from_form,
    parse,
    profile_changes_from_pairs,
)
from enkash_sandbox.ops.payouts import AdvanceSpec, PayoutFundSpec, PayoutOps, PayoutsEnabledSpec
from enkash_sandbox.products.payouts.errors import PayoutError
from enkash_sandbox.products.rewards.schemas import AllocatePoints
from enkash_sandbox.products.spend.schemas import AmountSpec, AuthorizeSpec, ClearSpec
from enkash_sandbox.products.spend.service import MagicTimeout
from enkash_sandbox.products.validation import validation_error
from enkash_sandbox.web.render import render
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

router = APIRouter(prefix="/ui", include_in_schema=False)
BASE = "/_sandbox/ui"


_POST_FORM = re.compile(r'(<form\b[^>]*\bmethod="post"[^>]*>)', re.I)


def _page(request: Request, template: str, **context) -> HTMLResponse:
    params = request.query_params
    running = sandbox(request)
    html = render(
        template,
        base=BASE,
        notice=params.get("notice"),
        error=params.get("error"),
        admin=bool(running.settings.admin_token),
        **context,
    )
    # every form that posts carries the CSRF token: added here once rather than in each template, so a new
    # form cannot forget it
    field = f'<input type="hidden" name="csrf" value="{running.csrf_token()}">'
    return HTMLResponse(_POST_FORM.sub(lambda m: m.group(1) + field, html))


def _back(path: str, *, notice: str | None = None, error: str | None = None) -> RedirectResponse:
    query = urlencode({k: v for k, v in (("notice", notice), ("error", error)) if v})
    return RedirectResponse(f"{BASE}{path}" + (f"?{query}" if query else ""), status_code=303)


async def _form(request: Request) -> dict:
    """The posted form, after its CSRF token checked out. The token is an HMAC of a secret kept in the store
    (the same for every worker), so only a page this sandbox rendered can post to it: another site, or
    another port on localhost (cookies do not separate ports), cannot read it."""
    raw = await request.body()
    try:
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()}
    except UnicodeDecodeError:
        form = {}
    expected = await run_in_threadpool(sandbox(request).csrf_token)
    if not same_secret(form.get("csrf", ""), expected):
        raise HTTPException(403, "the form's CSRF token is missing or stale: reload the page and try again")
    return form


async def _act(path: str, fn, *args, notice: str) -> RedirectResponse:
    """Run an action off the event loop and come back to `path` with its outcome."""
    try:
        result = await run_in_threadpool(fn, *args)
    except OpsError as exc:
        return _back(path, error=exc.message)
    except VendorError as exc:
        return _back(path, error=exc.message)
    return _back(path, notice=notice.format(result=result))


# -- pages -----------------------------------------------------------------------------------------
@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
def overview(request: Request):
    running = sandbox(request)
    running.control.refresh()
    return _page(
        request,
        "ui_overview.html",
        data=running.dashboard.overview(),
        clock=running.clock.state(),
        seed=running.db.seed,
        reset_seed=running.home_seed(),
    )


@router.get("/partners/{partner_id}", response_class=HTMLResponse)
def partner(partner_id: str, request: Request):
    data = sandbox(request).dashboard.partner(partner_id)
    if data is None:
        raise HTTPException(404, f"unknown partner {partner_id}")
    return _page(request, "ui_partner.html", data=data, profile=ops(request).profile(partner_id), profile_keys=profiles.KEYS)


@router.get("/partners/{partner_id}/orders", response_class=HTMLResponse)
def orders(partner_id: str, request: Request):
    return _page(request, "ui_orders.html", partner_id=partner_id, orders=sandbox(request).dashboard.orders(partner_id))


@router.get("/accounts/{account_id}", response_class=HTMLResponse)
def account(account_id: str, request: Request):
    data = sandbox(request).dashboard.account(account_id)
    if data is None:
        raise HTTPException(404, f"unknown card account {account_id}")
    return _page(
        request,
        "ui_account.html",
        data=data,
        balance_chart=charts.line(data["series"], title="Available balance over time"),
        monthly_chart=charts.bars(data["monthly"], title="Allocations vs spending (redemptions, purchases) per month"),
    )


@router.get("/cards/{card_id}", response_class=HTMLResponse)
def card(card_id: str, request: Request):
    data = sandbox(request).dashboard.card(card_id)
    if data is None:
        raise HTTPException(404, f"unknown card {card_id}")
    # the card's one chart spans the page: drawn wide, so its text is not scaled up with it
    chart = charts.line(data["series"], title="Card balance over time", width=1100)
    return _page(request, "ui_card.html", data=data, balance_chart=chart)


@router.get("/journal", response_class=HTMLResponse)
def journal(request: Request):
    return _page(request, "ui_journal.html", entries=sandbox(request).journal.query(limit=50))


@router.get("/faults", response_class=HTMLResponse)
def faults(request: Request):
    running = sandbox(request)
    running.control.refresh()
    s = running.settings
    return _page(
        request,
        "ui_faults.html",
        rules=running.faults.stored_rules(),
        magic=magic.table(s.magic_slow_seconds, s.fault_timeout_seconds, s.pending_order_seconds),
    )


@router.get("/snapshots", response_class=HTMLResponse)
def snapshots(request: Request):
    return _page(request, "ui_snapshots.html", snapshots=ops(request).snapshots())


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request):
    return _page(request, "ui_login.html")


# -- actions ---------------------------------------------------------------------------------------
# Every form goes through the same `ops` call and spec as the JSON API (and the CLI, which calls that API),
# so the dashboard cannot store anything the API would refuse. Forms carry a CSRF token (see `_form`).
@router.post("/login")
async def login(request: Request):
    form = await _form(request)
    token = sandbox(request).settings.admin_token
    if not token or not same_secret(form.get("token", ""), token):
        return _back("/login", error="That is not the admin token")
    response = _back("", notice="Signed in")
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/_sandbox")
    return response


@router.post("/accounts/{account_id}/fund")
async def fund(account_id: str, request: Request):
    form = await _form(request)
    back = f"/accounts/{account_id}"
    try:
        spec = parse(FundSpec, {"amount": form.get("amount", ""), "remarks": form.get("remarks") or None})
    except OpsError as exc:
        return _back(back, error=exc.message)
    return await _act(back, ops(request).fund, account_id, spec, notice=f"Funded ₹{spec.amount:,.2f}")


@router.post("/accounts/{account_id}/allocate")
async def allocate(account_id: str, request: Request):
    form = await _form(request)
    running = sandbox(request)
    data = await run_in_threadpool(running.dashboard.account, account_id)
    if data is None:
        raise HTTPException(404, f"unknown card account {account_id}")
    body = {
        "companyId": data["account"].company_id,
        "cardAccountId": account_id,
        "transactionType": "CR",
        "type": "ALLOCATE_POINT",
        "transactionCode": "ALLOCATION",
        "loadAmount": form.get("amount", ""),
        "uniqueReferenceNumber": form.get("reference") or None,
    }
    for key in ("mobile", "email", "firstName", "enkashCardId"):
        if form.get(key):
            body[key] = form[key]
    try:
        req = AllocatePoints.model_validate({k: v for k, v in body.items() if v is not None})
    except ValidationError as exc:
        return _back(f"/accounts/{account_id}", error=validation_error(exc).message)
    return await _act(
        f"/accounts/{account_id}",
        running.rewards.allocate,
        data["partner_id"],
        req,
        notice="Allocated ₹{result[loadAmount]:,.2f} to {result[enKashCardId]}",
    )


@router.post("/cards/{card_id}/status")
async def card_status(card_id: str, request: Request):
    form = await _form(request)
    code = form.get("blockCode", "")
    label = {"L": "Locked", "UL": "Unlocked", "BL": "Blocked"}.get(code, code)
    back = form.get("back") or f"/cards/{card_id}"
    if not back.startswith("/") or back.startswith("//"):
        back = f"/cards/{card_id}"
    return await _act(back, ops(request).set_card_status, card_id, code, notice=f"{label} {card_id}")


@router.post("/cards/{card_id}/authorize")
async def simulate_purchase(card_id: str, request: Request):
    """ "Simulate purchase" on the card page: the same operation as POST /_sandbox/cards/{id}/authorize."""
    form = await _form(request)
    back = f"/cards/{card_id}"
    try:
        spec = parse(
            AuthorizeSpec,
            {
                "amount": form.get("amount", ""),
                "channel": form.get("channel") or "POS",
                "merchantName": form.get("merchantName") or "SANDBOX MERCHANT",
                "international": form.get("international") == "on",
                "capture": form.get("capture") != "hold",
            },
        )
        result = await run_in_threadpool(ops(request).authorize, card_id, spec)
    except OpsError as exc:
        return _back(back, error=exc.message)
    except MagicTimeout:
        return _back(back, error="The card network did not answer (magic merchant SBX-TIMEOUT); nothing was recorded")
    if result["status"] == "DECLINED":
        return _back(back, error=f"Declined {result['transactionId']}: {', '.join(result['declineReasons'])}")
    what = "Held" if result["state"] == "HELD" else "Approved"
    return _back(back, notice=f"{what} {result['transactionId']}: ₹{result['amount']:,.2f} at {result['merchantName']}")


@router.post("/transactions/{txn_id}/{action}")
async def act_on_authorization(txn_id: str, action: str, request: Request):
    """Clear or reverse a hold from the card page (the amount field empty: all of it)."""
    form = await _form(request)
    card_id = form.get("card", "")
    back = f"/cards/{card_id}" if card_id.isalnum() else "/"
    amount = form.get("amount") or None
    try:
        if action == "clear":
            result = await run_in_threadpool(ops(request).clear, txn_id, parse(ClearSpec, {"amount": amount}))
        elif action == "reverse":
            result = await run_in_threadpool(ops(request).reverse, txn_id, parse(AmountSpec, {"amount": amount}))
        else:
            raise HTTPException(404, f"no action {action}")
    except OpsError as exc:
        return _back(back, error=exc.message)
    return _back(
        back,
        notice=f"{txn_id} is {result['state']}: cleared ₹{result['clearedAmount']:,.2f}, "
        f"released ₹{result['releasedAmount']:,.2f}",
    )


@router.post("/partners")
async def provision(request: Request):
    form = await _form(request)
    body = {k: form[k] for k in ("companyName", "fundBalance", "encryption") if form.get(k)}
    try:
        spec = parse(ProvisionSpec, body)
    except OpsError as exc:
        return _back("", error=exc.message)
    return await _act("", ops(request).provision, spec, notice="New tenant {result[partnerId]} (client id {result[clientId]})")


@router.post("/partners/{partner_id}/profile")
async def change_profile(partner_id: str, request: Request):
    """The tenant page's profile form: each key's select (or the token lifetime's box); empty = the default."""
    form = await _form(request)
    try:
        spec = profile_changes_from_pairs([f"{key.name}={form.get(key.name, '')}" for key in profiles.KEYS])
    except OpsError as exc:
        return _back(f"/partners/{partner_id}", error=exc.message)
    return await _act(f"/partners/{partner_id}", ops(request).change_profile, partner_id, spec, notice="Profile saved")


@router.post("/cards/{card_id}/open/{page}")
async def open_as_holder(card_id: str, page: Literal["portal", "vkyc"], request: Request):
    """The holder's rewards portal or VKYC page, through a fresh SSO token or VKYC link."""
    await _form(request)
    try:
        result = await run_in_threadpool(ops(request).holder_page, card_id, page)
    except (OpsError, VendorError) as exc:
        return _back(f"/cards/{card_id}", error=exc.message)
    return RedirectResponse(result["url"], status_code=303)


@router.post("/partners/{partner_id}/unlock")
async def unlock_login(partner_id: str, request: Request):
    form = await _form(request)
    try:
        spec = parse(UnlockSpec, {"username": form.get("username") or None})
    except OpsError as exc:
        return _back(f"/partners/{partner_id}", error=exc.message)
    # the notice is a format string: braces in a login must stay literal
    login = (spec.username or "").replace("{", "{{").replace("}", "}}")
    return await _act(f"/partners/{partner_id}", ops(request).unlock, partner_id, spec, notice=f"Unlocked {login}")


@router.post("/clock")
async def change_clock(request: Request):
    form = await _form(request)
    body = {k: form[k] for k in ("action", "at", "seconds") if form.get(k)}
    try:
        spec = parse(ClockSpec, body)
    except OpsError as exc:
        return _back("", error=exc.message)
    return await _act("", ops(request).clock, spec, notice="Sandbox clock: {result[now]}")


@router.post("/journal/clear")
async def clear_journal(request: Request):
    await _form(request)
    return await _act("/journal", ops(request).clear_journal, notice="Journal cleared ({result[deleted]} entries)")


@router.post("/snapshots")
async def take_snapshot(request: Request):
    form = await _form(request)
    try:
        spec = parse(SnapshotSpec, {"name": form.get("name", "")})
    except OpsError as exc:
        return _back("/snapshots", error=exc.message)
    return await _act("/snapshots", ops(request).take_snapshot, spec, notice=f"Snapshot {spec.name} taken")


@router.post("/snapshots/{name}/restore")
async def restore_snapshot(name: str, request: Request):
    form = await _form(request)
    spec = RestoreSpec(adoptSeed=form.get("adoptSeed") == "true")
    return await _act("/snapshots", ops(request).restore_snapshot, name, spec, notice=f"Restored {name}")


@router.post("/snapshots/{name}/delete")
async def delete_snapshot(name: str, request: Request):
    await _form(request)
    return await _act("/snapshots", ops(request).delete_snapshot, name, notice=f"Deleted {name}")


@router.post("/reset")
async def reset(request: Request):
    await _form(request)
    return await _act("", ops(request).reset, ResetSpec(), notice="The sandbox is back to its seeded state")


@router.post("/faults")
async def add_fault(request: Request):
    form = await _form(request)
    try:
        spec = fault_spec_from_form(form)
    except OpsError as exc:
        return _back("/faults", error=exc.message)
    return await _act("/faults", ops(request).add_fault, spec, notice="Fault rule added")


@router.post("/faults/{rule_id}/delete")
async def delete_fault(rule_id: str, request: Request):
    await _form(request)
    return await _act("/faults", ops(request).delete_fault, rule_id, notice="Fault rule deleted")


# -- payouts ---------------------------------------------------------------------------------------------------
# Fund sources, beneficiaries, transfers (with their status timeline and a force-next-state form) and statements.
# Reads and writes go through ops/payouts.py, the same PayoutOps the JSON control plane and the CLI use.
# The next states a tester may force from each state (the control plane refuses anything else with 409)
NEXT_STATES = {"PENDING": ("PROCESSING",), "PROCESSING": ("SUCCESS", "FAILED"), "SUCCESS": ("REVERSED",)}
PAYOUT_STATUSES = ("PENDING", "PROCESSING", "SUCCESS", "FAILED", "REVERSED", "REJECTED")


def payout_ops(request: Request) -> PayoutOps:
    return PayoutOps(sandbox(request))


def _account(request: Request, fund_source_id: str) -> dict:
    found = next((a for a in payout_ops(request).accounts() if a["fundSourceId"] == fund_source_id), None)
    if found is None:
        raise HTTPException(404, f"unknown fund source {fund_source_id}")
    return found


@router.get("/payouts", response_class=HTMLResponse)
def payouts_page(request: Request):
    params = request.query_params
    partner_id, status = params.get("partner") or None, params.get("status") or None
    try:
        transfers = payout_ops(request).transfers(partner_id, status, 100)
    except OpsError as exc:
        return _back("/payouts", error=exc.message)
    return _page(
        request,
        "ui_payouts.html",
        accounts=payout_ops(request).accounts(),
        transfers=transfers,
        filters={"partner": partner_id, "status": status},
        statuses=PAYOUT_STATUSES,
        clock=sandbox(request).clock.state(),
    )


@router.get("/payouts/accounts/{fund_source_id}", response_class=HTMLResponse)
def payout_account_page(fund_source_id: str, request: Request):
    running = sandbox(request)
    account = _account(request, fund_source_id)
    try:
        beneficiaries = running.payouts.search_beneficiaries(account["partnerId"], {"page": 0, "size": 100})
    except PayoutError as exc:
        # the tenant's payout APIs are switched off: the page still shows its money
        beneficiaries = {"content": [], "totalElements": 0, "unavailable": exc.message}
    transfers = [t for t in payout_ops(request).transfers(account["partnerId"], None, 100) if t["fundSourceId"] == fund_source_id]
    statement = payout_ops(request).statement(fund_source_id)["data"]
    return _page(
        request,
        "ui_payout_account.html",
        account=account,
        beneficiaries=beneficiaries,
        transfers=transfers,
        # the last 200 movements, newest first (the vendor statement lists them oldest first)
        statement=list(reversed(statement[-200:])),
        statement_count=len(statement),
    )


@router.get("/payouts/transfers/{enkash_transaction_id}", response_class=HTMLResponse)
def payout_transfer_page(enkash_transaction_id: str, request: Request):
    try:
        transfer = payout_ops(request).transfer(enkash_transaction_id)
    except OpsError as exc:
        raise HTTPException(exc.status, exc.message) from None
    return _page(request, "ui_payout_transfer.html", t=transfer, next_states=NEXT_STATES.get(transfer["payoutStatus"], ()))


@router.post("/payouts/accounts/{fund_source_id}/fund")
async def payout_fund(fund_source_id: str, request: Request):
    form = await _form(request)
    back = f"/payouts/accounts/{fund_source_id}"
    try:
        spec = parse(
            PayoutFundSpec, {"amount": form.get("amount", ""), "fromAccountNumber": form.get("fromAccountNumber") or None}
        )
    except OpsError as exc:
        return _back(back, error=exc.message)
    return await _act(
        back,
        payout_ops(request).fund,
        fund_source_id,
        spec,
        notice="Funded ₹{result[amount]:,.2f}: balance ₹{result[balance]:,.2f}",
    )


@router.post("/payouts/partners/{partner_id}/enabled")
async def payout_switch(partner_id: str, request: Request):
    form = await _form(request)
    back = form.get("back") or "/payouts"
    if not back.startswith("/payouts") or back.startswith("//"):
        back = "/payouts"
    spec = PayoutsEnabledSpec(enabled=form.get("enabled") == "true")
    verb = "on" if spec.enabled else "off"
    return await _act(back, payout_ops(request).set_enabled, partner_id, spec, notice=f"Payouts switched {verb} for {partner_id}")


@router.post("/payouts/transfers/{enkash_transaction_id}/advance")
async def payout_advance(enkash_transaction_id: str, request: Request):
    """The transfer page's force-next-state form: the same operation as POST /_sandbox/payouts/transfers/{id}/advance."""
    form = await _form(request)
    back = f"/payouts/transfers/{enkash_transaction_id}"
    try:
        spec = parse(AdvanceSpec, {"to": form.get("to", ""), "reasonCode": form.get("reasonCode") or None})
    except OpsError as exc:
        return _back(back, error=exc.message)
    return await _act(
        back, payout_ops(request).advance, enkash_transaction_id, spec, notice="{result[transactionId]} is {result[payoutStatus]}"
    )


@router.post("/payouts/settle")
async def payout_settle(request: Request):
    await _form(request)
    return await _act("/payouts", payout_ops(request).settle, notice="Settled {result[settled]} step(s) due at the sandbox clock")
