"""Tenant-scoped look-ups. An id of another tenant is answered exactly like an unknown id."""

from __future__ import annotations

from typing import Protocol

from enkash_sandbox.errors import (
    AccountNotFound,
    BusinessFailure,
    CardNotFound,
    CardUnusable,
    CompanyNotFound,
    UserNotFound,
)
from enkash_sandbox.store.tables import Card, CardAccount, CardHolder, Company
from enkash_sandbox.vocabulary import CardOperation, CardStatus
from sqlalchemy import bindparam
from sqlmodel import Session, col, select


def get_account(
    s: Session, partner_id: str, company_id: str | None, account_id: str | None, *, for_update: bool = False
) -> CardAccount:
    account = s.get(CardAccount, account_id) if account_id else None
    if account is None or account.partner_id != partner_id or (company_id and account.company_id != company_id):
        raise AccountNotFound(company_id, account_id)
    return account


def get_company(s: Session, partner_id: str, company_id: str) -> Company:
    company = s.get(Company, company_id)
    if company is None or company.partner_id != partner_id:
        raise CompanyNotFound(company_id)
    return company


def get_card(s: Session, account: CardAccount, card_id: str | None) -> Card:
    card = s.get(Card, card_id) if card_id else None
    if card is None or card.account_id != account.id:
        raise CardNotFound(card_id, account.id)
    return card


def get_card_of_partner(s: Session, partner_id: str, card_id: str | None) -> Card:
    card = s.get(Card, card_id) if card_id else None
    if card is None or card.partner_id != partner_id:
        raise CardNotFound(card_id)
    return card


def get_holder(s: Session, company_id: str, user_id: str) -> CardHolder:
    holder = s.get(CardHolder, user_id)
    if holder is None or holder.company_id != company_id:
        raise UserNotFound(user_id, company_id)
    return holder


def find_holder(s: Session, company_id: str, *, mobile: str | None, email: str | None) -> CardHolder | None:
    if mobile:
        found = s.exec(select(CardHolder).where(CardHolder.company_id == company_id, CardHolder.mobile == mobile)).first()
        if found:
            return found
    if email:
        return s.exec(select(CardHolder).where(CardHolder.company_id == company_id, CardHolder.email == email)).first()
    return None


def card_of_holder(s: Session, account_id: str, user_id: str) -> Card | None:
    return s.exec(
        select(Card).where(Card.account_id == account_id, Card.user_id == user_id, col(Card.replaced_by).is_(None))
    ).first()


# built once: constructing a four-way join per request costs more than running it
_CARD_WITH_CONTEXT = (
    select(Card, CardHolder, CardAccount, Company)
    .join(CardHolder, col(CardHolder.id) == Card.user_id)
    .join(CardAccount, col(CardAccount.id) == Card.account_id)
    .join(Company, col(Company.id) == CardAccount.company_id)
    .where(col(Card.id) == bindparam("card_id"))
)


def card_with_context(
    s: Session, partner_id: str, company_id: str | None, account_id: str | None, card_id: str
) -> tuple[Card, CardHolder, CardAccount, Company]:
    """A card with its holder, account and company in one query (the hot read path of /search).
    Unknown, foreign or mismatched ids answer exactly like the separate look-ups would."""
    row = s.exec(_CARD_WITH_CONTEXT, params={"card_id": card_id}).first()
    if (
        row is None
        or row[2].id != account_id
        or row[2].partner_id != partner_id
        or (company_id and row[2].company_id != company_id)
    ):
        account = get_account(s, partner_id, company_id, account_id)  # the account's own 404 comes first
        get_card(s, account, card_id)
    assert row is not None  # the look-ups above raise when the joined row is missing
    return row


class CardState(Protocol):
    """What the card-state rules read: a Card row, or the slim record a hot path loads instead."""

    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def replaced_by(self) -> str | None: ...


CARD_STATE_FAILURES = {
    CardStatus.LOCKED: "Card is locked. Unlock the card (blockCode UL) before this operation",
    CardStatus.BLOCKED: "Card is blocked permanently",
    CardStatus.ACTIVATING: "Card activation is in progress",
}


def ensure_usable(card: CardState, operation: CardOperation = CardOperation.CREDIT) -> None:
    """The one rule for what a card's state allows. A replaced card takes part in nothing (its balance moved
    to the replacement); a locked, blocked or not-yet-active card can neither receive nor spend money, but a
    permanently blocked card may still give its balance back to its account, so no money is stranded on it."""
    if card.replaced_by:
        raise CardUnusable(f"Card {card.id} was replaced by {card.replaced_by}")
    if operation == CardOperation.UNLOAD and card.status == CardStatus.BLOCKED:
        return
    if card.status in CARD_STATE_FAILURES:
        raise CardUnusable(CARD_STATE_FAILURES[CardStatus(card.status)])


def ensure_alive(card: Card) -> None:
    """Lifecycle changes (PIN, controls, VKYC) need a card that is neither replaced nor permanently blocked."""
    if card.replaced_by:
        raise CardUnusable(f"Card {card.id} was replaced by {card.replaced_by}")
    if card.status == CardStatus.BLOCKED:
        raise CardUnusable("Card is blocked permanently")


_ = BusinessFailure
