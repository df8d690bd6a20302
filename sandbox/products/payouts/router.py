"""The payout endpoints (EnKash Payouts APIs, ../shared/reference/enkash-other.md §2).

Bearer token of the partner (no partnerId header is documented for payouts), `User-Agent` required, the AES
envelope both ways (the gateway opens and seals it). Bodies are read here, not by pydantic: each bad field has its
own documented message (schemas.py). Failures are PayoutError: HTTP status = response_code (app.py's handler).
Store work goes to the worker threads; a batch is placed BATCH_CHUNK items per transaction, awaiting between
chunks, so other requests keep being answered while a 1,000-item batch runs.
"""

from __future__ import annotations

from typing import Annotated, Any

from enkash_sandbox.envelopes import json_response
from enkash_sandbox.products.auth.service import Principal
from enkash_sandbox.products.deps import RouteNeeds, WorkDep, declare, partner_token, service
from enkash_sandbox.products.payouts import errors as e
from enkash_sandbox.products.payouts.errors import PayoutError
from enkash_sandbox.products.payouts.schemas import json_object
from enkash_sandbox.products.payouts.service import BATCH_CHUNK, LAZY_LIMIT, Options, PayoutService
from enkash_sandbox.work import Work
from fastapi import APIRouter, Depends, Request, Response

router = APIRouter(prefix="/api/v0")
MAGIC_HEADER = "x-sandbox-magic"
# a 1,000-transfer batch, encrypted (Base64 adds a third): well past the default body limit
declare("POST", "/api/v0/payout-transaction/batch", RouteNeeds(body_limit=4 * 1024 * 1024))

Payouts = Annotated[PayoutService, Depends(service("payouts"))]


async def payout_partner(request: Request) -> Principal:
    """A partner token and the User-Agent header the payout pages list as required."""
    principal = await partner_token(request)
    if not request.headers.get("user-agent", "").strip():
        raise e.invalid(hint="send a User-Agent header (the payout APIs require it)")
    return principal


PayoutPartner = Annotated[Principal, Depends(payout_partner)]


def options(request: Request, p: Principal) -> Options:
    mode = p.profile.magic_values
    magic = mode == "on" or (mode == "header" and request.headers.get(MAGIC_HEADER, "").strip().lower() == "on")
    return Options.of(p.profile, magic)


async def settle_lazily(work: Work, payouts: PayoutService, partner_id: str, transaction_id: str | None = None) -> None:
    """A read first takes the partner's due transfers their steps (the sweeper would, within a fraction of a
    second; a partner polling right after a clock advance must not see the old state): the oldest LAZY_LIMIT of
    them, and the transfer it reads."""
    due = await work.read(payouts.due, partner_id, LAZY_LIMIT)
    if transaction_id is not None:
        due += await work.read(payouts.due_attempt, partner_id, transaction_id)
    if due:
        await work.write(payouts.settle, due)


async def _body(request: Request) -> dict[str, Any]:
    return json_object(await request.body())


async def payout_error(request: Request, exc: PayoutError) -> Response:
    """The documented failure body; what to do about it goes to X-Sandbox-Explain (the gateway adds it)."""
    if exc.hint is not None:
        request.scope.setdefault("state", {})["explain"] = exc.hint
    return json_response(exc.body(), exc.status, exc.headers)


@router.post("/beneficiary-detail")
async def create_beneficiary(request: Request, p: PayoutPartner, work: WorkDep, payouts: Payouts) -> Response:
    return json_response(await work.write(payouts.create_beneficiary, p.partner_id, await _body(request)))


@router.post("/beneficiary-detail/search")
async def search_beneficiaries(request: Request, p: PayoutPartner, work: WorkDep, payouts: Payouts) -> Response:
    return json_response(await work.read(payouts.search_beneficiaries, p.partner_id, await _body(request)))


@router.delete("/beneficiary-detail/{beneficiaryId}")
async def delete_beneficiary(beneficiaryId: str, p: PayoutPartner, work: WorkDep, payouts: Payouts) -> Response:  # noqa: N803 - the path names it as the API does
    return json_response(await work.write(payouts.delete_beneficiary, p.partner_id, beneficiaryId[:200]))


@router.post("/payout-transaction")
async def create_transfer(request: Request, p: PayoutPartner, work: WorkDep, payouts: Payouts) -> Response:
    data = await _body(request)
    # a short prebuilt-SQL write: on SQLite it runs on the loop when the store is free (work.py)
    view, magic = await work.write_now(payouts.transfer, p.partner_id, data, options(request, p))
    # a magic value that chose the outcome says so, as every magic value does (docs/MAGIC_VALUES.md)
    return json_response(view, headers={"X-Sandbox-Magic": magic} if magic else None)


@router.post("/payout-transaction/batch")
async def create_batch(request: Request, p: PayoutPartner, work: WorkDep, payouts: Payouts) -> Response:
    data = await _body(request)
    opts = options(request, p)
    batch_id, items = await work.write(payouts.start_batch, p.partner_id, data)
    successful: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    seen: set[str] = set()
    for start in range(0, len(items), BATCH_CHUNK):
        for accepted, view in await work.write(
            payouts.batch_chunk, p.partner_id, batch_id, items[start : start + BATCH_CHUNK], seen, opts
        ):
            (successful if accepted else failed).append(view)
    return json_response(
        {
            "batchTransactionId": batch_id,
            "successfulPayoutTransactionCreateResponses": successful,
            "failedPayoutTransactionCreateResponses": failed,
        }
    )


@router.post("/payout-transaction/search")
async def search_transfers(request: Request, p: PayoutPartner, work: WorkDep, payouts: Payouts) -> Response:
    data = await _body(request)
    await settle_lazily(work, payouts, p.partner_id)
    return json_response(await work.read(payouts.search_transfers, p.partner_id, data, options(request, p)))


@router.get("/payout-transaction/{transactionId}")
async def get_transfer(transactionId: str, request: Request, p: PayoutPartner, work: WorkDep, payouts: Payouts) -> Response:  # noqa: N803
    await settle_lazily(work, payouts, p.partner_id, transactionId[:200])
    return json_response(await work.read(payouts.get_transfer, p.partner_id, transactionId[:200], options(request, p)))


@router.get("/payout-account/balance")
async def balance(request: Request, p: PayoutPartner, work: WorkDep, payouts: Payouts) -> Response:
    fund_source_id = request.query_params.get("fundSourceId", "").strip() or None
    await settle_lazily(work, payouts, p.partner_id)
    return json_response(await work.read(payouts.balance, p.partner_id, fund_source_id[:100] if fund_source_id else None))


@router.post("/bankDetail/whitelist")
async def whitelist(request: Request, p: PayoutPartner, work: WorkDep, payouts: Payouts) -> Response:
    return json_response(await work.write(payouts.whitelist, p.partner_id, await _body(request)))


@router.get("/bankDetail")
async def bank_details(p: PayoutPartner, work: WorkDep, payouts: Payouts) -> Response:
    return json_response(await work.read(payouts.bank_details, p.partner_id))


@router.post("/payout-account/statement")
async def statement(request: Request, p: PayoutPartner, work: WorkDep, payouts: Payouts) -> Response:
    data = await _body(request)
    await settle_lazily(work, payouts, p.partner_id)
    return json_response(await work.read(payouts.statement, p.partner_id, data, options(request, p)))
