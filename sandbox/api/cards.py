"""Card endpoints under /api/v0/partner/enKashCard (foundation: accounts, cards, loads, search, transactions).

Vendor handlers are `async def` and call the domain directly: each call is a millisecond of SQLite work,
and handing it to the threadpool cost more than the work (and, under the GIL, bought no parallelism).
The one long call, bulk allocation, stays in the threadpool."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from enkash_sandbox.api.deps import body, core, partner
from enkash_sandbox.api.responses import A, B, ok
from enkash_sandbox.domain.auth import Principal
from enkash_sandbox.domain.requests import (
    AccountRef,
    CardAccountCreate,
    CardSearch,
    CreateCard,
    LoadBalance,
    TransactionSearch,
)

router = APIRouter(prefix="/api/v0/partner/enKashCard")


@router.post("/cardAccount/create")
async def create_card_account(request: Request, p: Principal = Depends(partner),
                        req: CardAccountCreate = Depends(body(CardAccountCreate))):
    return ok(request, core(request).accounts.create(p.partner_id, req), B)


@router.post("/cardAccount/get")
async def get_card_account(request: Request, p: Principal = Depends(partner), req: AccountRef = Depends(body(AccountRef))):
    return ok(request, core(request).accounts.get(p.partner_id, req.companyId, req.cardAccountId), B)


@router.post("")
async def create_card(request: Request, p: Principal = Depends(partner), req: CreateCard = Depends(body(CreateCard))):
    return ok(request, core(request).cards.create(p.partner_id, req), A)


@router.post("/balance")
async def load_balance(request: Request, p: Principal = Depends(partner), req: LoadBalance = Depends(body(LoadBalance))):
    return ok(request, core(request).cards.load(p.partner_id, req), A)


@router.post("/search")
async def search_cards(request: Request, p: Principal = Depends(partner), req: CardSearch = Depends(body(CardSearch))):
    shape, payload = core(request).cards.search(p.partner_id, req)
    # one card: the single-card copy of the docs (style B); all cards: {recordsCount, data} (style A)
    return ok(request, payload, B if shape == "one" else A)


@router.post("/transaction/all")
async def search_transactions(request: Request, p: Principal = Depends(partner),
                        req: TransactionSearch = Depends(body(TransactionSearch))):
    return ok(request, core(request).transactions.search(p.partner_id, req), A)
