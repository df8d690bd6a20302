"""Card endpoints under /api/v0/partner/enKashCard (foundation: accounts, cards, loads, search, transactions).

Vendor handlers are `async def` and hand their store work to the sandbox's worker threads (`read`/`write`),
so a request waiting for the database never holds up the event loop."""

from __future__ import annotations

from enkash_sandbox.api.deps import body, core, partner, read, write
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
from fastapi import APIRouter, Depends, Request

router = APIRouter(prefix="/api/v0/partner/enKashCard")


@router.post("/cardAccount/create")
async def create_card_account(request: Request, p: Principal = Depends(partner),
                        req: CardAccountCreate = Depends(body(CardAccountCreate))):
    return ok(request, await write(request, core(request).accounts.create, p.partner_id, req), B)


@router.post("/cardAccount/get")
async def get_card_account(request: Request, p: Principal = Depends(partner), req: AccountRef = Depends(body(AccountRef))):
    return ok(request, await read(request, core(request).accounts.get, p.partner_id, req.companyId,
                                  req.cardAccountId), B)


@router.post("")
async def create_card(request: Request, p: Principal = Depends(partner), req: CreateCard = Depends(body(CreateCard))):
    return ok(request, await write(request, core(request).cards.create, p.partner_id, req), A)


@router.post("/balance")
async def load_balance(request: Request, p: Principal = Depends(partner), req: LoadBalance = Depends(body(LoadBalance))):
    return ok(request, await write(request, core(request).cards.load, p.partner_id, req), A)


@router.post("/search")
async def search_cards(request: Request, p: Principal = Depends(partner), req: CardSearch = Depends(body(CardSearch))):
    shape, payload = await read(request, core(request).cards.search, p.partner_id, req)
    # one card: the single-card copy of the docs (style B); all cards: {recordsCount, data} (style A)
    return ok(request, payload, B if shape == "one" else A)


@router.post("/transaction/all")
async def search_transactions(request: Request, p: Principal = Depends(partner),
                        req: TransactionSearch = Depends(body(TransactionSearch))):
    return ok(request, await read(request, core(request).transactions.search, p.partner_id, req), A)
