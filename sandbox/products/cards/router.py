"""Card endpoints under /api/v0/partner/enKashCard: card accounts, cards, loads, search, transactions.

Handlers are `async def` and hand their store work to the sandbox's worker threads (`work.read` /
`work.write`), so a request waiting for the database never holds up the event loop."""

from __future__ import annotations

from typing import Annotated

from enkash_sandbox.envelopes import A, B
from enkash_sandbox.products.cards.accounts import AccountService
from enkash_sandbox.products.cards.schemas import (
    AccountRef,
    CardAccountCreate,
    CardSearch,
    CreateCard,
    LoadBalance,
    TransactionSearch,
)
from enkash_sandbox.products.cards.service import CardService
from enkash_sandbox.products.cards.transactions import TransactionService
from enkash_sandbox.products.deps import PartnerDep, WorkDep, body, ok, service
from fastapi import APIRouter, Depends, Request, Response

router = APIRouter(prefix="/api/v0/partner/enKashCard")

Accounts = Annotated[AccountService, Depends(service("accounts"))]
Cards = Annotated[CardService, Depends(service("cards"))]
Transactions = Annotated[TransactionService, Depends(service("transactions"))]


@router.post("/cardAccount/create")
async def create_card_account(
    request: Request,
    p: PartnerDep,
    work: WorkDep,
    accounts: Accounts,
    req: Annotated[CardAccountCreate, Depends(body(CardAccountCreate))],
) -> Response:
    return ok(request, await work.write(accounts.create, p.partner_id, req), B)


@router.post("/cardAccount/get")
async def get_card_account(
    request: Request, p: PartnerDep, work: WorkDep, accounts: Accounts, req: Annotated[AccountRef, Depends(body(AccountRef))]
) -> Response:
    return ok(request, await work.read(accounts.get, p.partner_id, req.companyId, req.cardAccountId), B)


@router.post("")
async def create_card(
    request: Request, p: PartnerDep, work: WorkDep, cards: Cards, req: Annotated[CreateCard, Depends(body(CreateCard))]
) -> Response:
    return ok(request, await work.write(cards.create, p.partner_id, req, p.profile), A)


@router.post("/balance")
async def load_balance(
    request: Request, p: PartnerDep, work: WorkDep, cards: Cards, req: Annotated[LoadBalance, Depends(body(LoadBalance))]
) -> Response:
    return ok(request, await work.write_now(cards.load, p.partner_id, req, p.profile), A)


@router.post("/search")
async def search_cards(
    request: Request, p: PartnerDep, work: WorkDep, cards: Cards, req: Annotated[CardSearch, Depends(body(CardSearch))]
) -> Response:
    # one card is a point read; a whole account's cards (thousands, perhaps) go to the read pool
    read = work.lookup if req.enKashCardId else work.read
    shape, payload = await read(cards.search, p.partner_id, req)
    if shape == "one" and p.profile.search_by_id == "list":
        # the id-matched example of the docs (api-24480520): the list envelope holding the one card
        return ok(request, {"recordsCount": 1, "data": [payload]}, A)
    # one card: the single-card copy of the docs (style B); all cards: {recordsCount, data} (style A)
    return ok(request, payload, B if shape == "one" else A)


@router.post("/transaction/all")
async def search_transactions(
    request: Request,
    p: PartnerDep,
    work: WorkDep,
    transactions: Transactions,
    req: Annotated[TransactionSearch, Depends(body(TransactionSearch))],
) -> Response:
    return ok(request, await work.read(transactions.search, p.partner_id, req, p.profile), A)
