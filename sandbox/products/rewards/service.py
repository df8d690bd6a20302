"""Rewards & incentives: create-and-allocate, unallocate, bulk allocation, SSO tokens."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from enkash_sandbox.envelopes import Inferred
from enkash_sandbox.errors import BadRequest, BusinessFailure, FieldError, InsufficientBalance, NotFound, VendorError
from enkash_sandbox.ledger.movements import BulkItem, DuplicatePolicy, DuplicateReference, Movement, replay_duplicates
from enkash_sandbox.money import from_minor, to_minor
from enkash_sandbox.products import scope
from enkash_sandbox.products.cards.schemas import HolderFields
from enkash_sandbox.products.rewards.schemas import AllocatePoints, BulkRow, SsoRequest
from enkash_sandbox.products.validation import validation_error
from enkash_sandbox.store.tables import Card, CardAccount, CardHolder, Company, Transaction, table_of
from enkash_sandbox.vocabulary import NON_RELOADABLE, CardOperation
from pydantic import ValidationError
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

T = TypeVar("T")

if TYPE_CHECKING:
    from enkash_sandbox.config import Settings
    from enkash_sandbox.ledger.movements import Ledger
    from enkash_sandbox.products.auth.service import AuthService
    from enkash_sandbox.products.cards.service import CardService
    from enkash_sandbox.store.engine import Database
    from enkash_sandbox.work import Work


BULK_CHUNK = 500
NOT_KYC_DONE = {"NOT_UPLOADED", "PENDING", "UPLOADED", "FAILED", "DRAFTED", "CREATED", "KYC_NOT_ALLOWED"}


def allocation_payload(card: Card, holder: CardHolder, account: CardAccount, txn: Movement) -> dict:
    return {
        "enKashCardId": card.id,
        "userId": holder.id,
        "cardAccountId": account.id,
        "email": holder.email,
        "mobile": holder.mobile,
        "title": holder.title,
        "firstName": holder.first_name,
        "gender": holder.gender,
        "token": card.token,
        "maskedNumber": card.masked_number,
        "enkashCardTxnId": txn.id,
        "pgReferenceNumber": txn.pg_reference_number,
        "transactionType": txn.direction,
        "type": txn.type,
        "transactionCode": txn.transaction_code,
        "loadAmount": from_minor(txn.amount_minor),
        "otbBalance": from_minor(card.balance_minor),
        "availableBalance": from_minor(account.balance_minor),
    }


class RewardService:
    def __init__(
        self, db: Database, settings: Settings, ledger: Ledger, cards: CardService, auth: AuthService, work: Work
    ) -> None:
        self.db = db
        self.settings = settings
        self.ledger = ledger
        self.cards = cards
        self.auth = auth
        self.work = work

    # -- one allocation --------------------------------------------------------------------
    def allocate(self, partner_id: str, req: AllocatePoints, profile: DuplicatePolicy | None = None) -> dict:
        direction, kind = req.direction
        if (direction, kind) not in (("CR", "ALLOCATE_POINT"), ("DR", "UNALLOCATE_POINT")):
            raise FieldError(
                "transactionType",
                f"{direction} does not go with {kind}",
                ("type", f"{kind} does not go with {direction}"),
                summary=f"transactionType {direction} cannot be used with type {kind}: use "
                "CR with ALLOCATE_POINT or DR with UNALLOCATE_POINT",
            )
        # the tenant's profile says how a repeated reference is answered (the settings' default without one)
        policy = profile or self.settings
        return replay_duplicates(policy, lambda: self._allocate(partner_id, req, direction, kind), self.ledger.first_response)

    def _account(self, s: Session, partner_id: str, req: AllocatePoints) -> CardAccount:
        """The account named, or (the guide's top-up by `enkashCardId` alone) the card's own."""
        if req.cardAccountId:
            return scope.get_account(s, partner_id, req.companyId, req.cardAccountId)
        if not req.card_id:
            raise BadRequest(
                "Mandatory parameter missing: cardAccountId (or enkashCardId)",
                errors=[{"field": "cardAccountId", "message": "is required when enkashCardId is not sent"}],
            )
        card = scope.get_card_of_partner(s, partner_id, req.card_id)
        return scope.get_account(s, partner_id, req.companyId, card.account_id)

    def _allocate(self, partner_id: str, req: AllocatePoints, direction: str, kind: str) -> dict:
        cards = self.cards
        with self.db.write() as s:
            account = self._account(s, partner_id, req)
            company = s.get(Company, account.company_id)
            card, holder, inference = self._target(s, account, req)
            minor = to_minor(req.loadAmount)
            common = {
                "transaction_code": req.transactionCode or "ALLOCATION",
                "reference": req.reference,
                "remarks": req.remarks,
                "type": kind,
            }
            if direction == "DR":
                if card is None:
                    raise NotFound(
                        f"No EnKash card found in cardAccountId: {account.id} for the given enkashCardId / email / mobile"
                    )
                scope.ensure_usable(card, CardOperation.UNLOAD)
                txn = self.ledger.card_to_account(
                    s,
                    account,
                    card,
                    minor,
                    insufficient=InsufficientBalance(
                        f"Insufficient balance on card {card.id}: otbBalance is {from_minor(card.balance_minor)}"
                    ),
                    **common,
                )
            else:
                if card is None:
                    if holder is None:
                        assert company is not None  # company_id is a foreign key
                        holder = cards.resolve_holder(
                            s,
                            company,
                            HolderFields(
                                email=req.email,
                                mobile=req.mobile,
                                title=req.title,
                                firstName=req.firstName,
                                lastName=req.lastName,
                                gender=req.gender,
                            ),
                            None,
                        )
                    card = cards.new_card(s, account, holder)
                else:
                    scope.ensure_usable(card)
                    if account.account_type in NON_RELOADABLE:
                        raise BusinessFailure("Top-up is not allowed on GIFT cards (non-reloadable)")
                txn = self.ledger.account_to_card(s, account, card, minor, **common)
            if holder is None:
                holder = s.get(CardHolder, card.user_id)
                assert holder is not None  # user_id is a foreign key
            payload = allocation_payload(card, holder, account, txn)
            self.ledger.set_response(self.db.tx_of(s, flush=False), txn.id, payload)
            return Inferred(payload, inference) if inference else payload

    def _target(self, s: Session, account: CardAccount, req: AllocatePoints) -> tuple[Card | None, CardHolder | None, str | None]:
        """The card to credit/debit: by id, else by the holder's mobile/email within the company, else (the guide's
        top-up by `cardAccountId` alone) the account's primary card; the last names its inference."""
        card: Card | None
        holder: CardHolder | None
        if req.card_id:
            card = scope.get_card(s, account, req.card_id)
            holder = s.get(CardHolder, card.user_id)
            assert holder is not None  # user_id is a foreign key
            for field, given, actual in (("email", req.email, holder.email), ("mobile", req.mobile, holder.mobile)):
                if given and given.lower() != (actual or "").lower():
                    raise FieldError(
                        field, "does not match the card holder", summary=f"{field} does not match the holder of card {card.id}"
                    )
            return card, holder, None
        if not req.mobile and not req.email:
            if account.primary_card_id is None:
                raise FieldError(
                    "enkashCardId",
                    "or mobile or email is required",
                    summary="One of enkashCardId, mobile or email is required (the account has no primary card to top up)",
                )
            # the guide: "enkashCardId or cardAccountId (one required if the other is absent)"; with the account
            # alone, the card it owns (the primary card, made at onboarding) is the one the sandbox credits
            card = scope.get_card(s, account, account.primary_card_id)
            return card, s.get(CardHolder, card.user_id), "allocation-primary-card"
        holder = scope.find_holder(s, account.company_id, mobile=req.mobile, email=req.email)
        card = scope.card_of_holder(s, account.id, holder.id) if holder else None
        return card, holder, None

    # -- bulk ------------------------------------------------------------------------------
    def bulk_validate(
        self, partner_id: str, company_id: str, account_id: str, rows: list
    ) -> tuple[list[tuple[int, dict, BulkRow]], list[dict]]:
        """Parse every row (no store writes): the valid ones to apply, the invalid ones as failures. An unknown
        account is the documented 404 for the whole call."""
        with self.db.read() as s:
            scope.get_account(s, partner_id, company_id, account_id)
        failures: list[dict] = []
        valid: list[tuple[int, dict, BulkRow]] = []
        for index, raw in enumerate(rows):
            if not isinstance(raw, dict):
                failures.append(_failure(index, {}, "Each row must be a JSON object", 422))
                continue
            try:
                valid.append((index, raw, BulkRow.model_validate(raw)))
            except ValidationError as exc:
                failures.append(_failure(index, raw, validation_error(exc).message, 422))
        return valid, failures

    async def bulk_async(self, partner_id: str, company_id: str, account_id: str, points_allocation: bool, rows: list) -> dict:
        """Bulk allocation from a request handler: validated in a worker thread, then applied in chunks of
        BULK_CHUNK rows, each its own short transaction, so other requests' writes run between the chunks
        instead of waiting seconds for one 10 000-row transaction."""
        work = self.work
        valid, failures = await work.read(self.bulk_validate, partner_id, company_id, account_id, rows)
        created: set[str] = set()
        successes: list[dict] = []
        for start in range(0, len(valid), BULK_CHUNK):
            done, failed = await work.write(
                self._chunk, partner_id, company_id, account_id, points_allocation, valid[start : start + BULK_CHUNK], created
            )
            successes += done
            failures += failed
        return _bulk_result(successes, failures, len(rows))

    def bulk(self, partner_id: str, company_id: str, account_id: str, points_allocation: bool, rows: list) -> dict:
        """The same, called from a plain thread (scripts, the dashboard)."""
        valid, failures = self.bulk_validate(partner_id, company_id, account_id, rows)
        created: set[str] = set()
        successes: list[dict] = []
        for start in range(0, len(valid), BULK_CHUNK):
            done, failed = self._chunk(
                partner_id, company_id, account_id, points_allocation, valid[start : start + BULK_CHUNK], created
            )
            successes += done
            failures += failed
        return _bulk_result(successes, failures, len(rows))

    def _chunk(self, *args: Any) -> tuple[list[dict], list[dict]]:
        try:
            return self.bulk_chunk(*args)
        except IntegrityError:
            # a holder or card this chunk meant to create was created a moment ago by another request
            # (PostgreSQL): run the chunk again, it now finds them
            return self.bulk_chunk(*args)

    def bulk_chunk(
        self,
        partner_id: str,
        company_id: str,
        account_id: str,
        points_allocation: bool,
        valid: list[tuple[int, dict, BulkRow]],
        created_users: set[str],
    ) -> tuple[list[dict], list[dict]]:
        """Create users/cards and allocate for one chunk of rows, in one transaction. Each row succeeds or
        fails on its own. A crash between chunks leaves whole chunks applied; every row carries a mandatory
        uniqueReferenceNumber, so sending the batch again applies only the rows that did not land (the others
        fail as duplicates). New holders, cards and the ledger rows are written with bulk inserts."""
        db = self.db
        cards = self.cards
        failures: list[dict] = []
        with db.write() as s:
            account = scope.get_account(s, partner_id, company_id, account_id)
            company = s.get(Company, account.company_id)
            account_reason = self._bulk_blocker(s, account)
            if account_reason:
                return [], [_failure(index, raw, account_reason, 422) for index, raw, _ in valid]
            by_mobile, by_email, card_of_user, used_refs = self._bulk_lookups(s, account, valid)
            new_holders: list[dict] = []
            new_cards: list[dict] = []
            remaining = account.balance_minor
            plan: list[tuple[int, BulkRow, BulkItem]] = []
            for index, raw, row in valid:
                user_id = by_mobile.get(row.mobile) or by_email.get(row.email.lower())
                minor = to_minor(row.loadAmount)
                reason: str | None
                if row.uniqueReferenceNumber in used_refs:
                    reason, status = DuplicateReference(row.uniqueReferenceNumber, account.id).message, 200
                elif user_id is not None and not points_allocation and user_id not in created_users:
                    reason, status = (
                        ("User already exists; with isPointsAllocation=false only new users are created and allocated"),
                        422,
                    )
                elif minor > remaining:
                    reason, status = InsufficientBalance().message, 200
                else:
                    reason, status = self._card_refusal(card_of_user.get(user_id)) if user_id else None, 200
                if reason:
                    failures.append(_failure(index, raw, reason, status))
                    continue
                if user_id is None:
                    assert company is not None  # company_id is a foreign key
                    first, _, last = row.name.partition(" ")
                    holder = cards.holder_row(
                        s,
                        company,
                        HolderFields(title=row.title, firstName=first, lastName=last or None, email=row.email, mobile=row.mobile),
                    )
                    new_holders.append(holder)
                    user_id = holder["id"]
                    created_users.add(user_id)
                    by_mobile[row.mobile] = by_email[row.email.lower()] = user_id
                card = card_of_user.get(user_id)
                if card is None:
                    card = cards.card_row(s, account, user_id, mobile=row.mobile)
                    new_cards.append(card)
                    card_of_user[user_id] = card
                card_id, balance = (card["id"], 0) if isinstance(card, dict) else (card.id, card.balance_minor)
                used_refs.add(row.uniqueReferenceNumber)
                remaining -= minor
                plan.append((index, row, BulkItem(card_id, user_id, balance, minor, row.uniqueReferenceNumber, row.remarks)))
            conn = s.connection()
            if new_holders:
                conn.execute(insert(table_of(CardHolder)), new_holders)
            if new_cards:
                conn.execute(insert(table_of(Card)), new_cards)
            txns = self.ledger.bulk_account_to_cards(
                self.db.tx_of(s, flush=False),
                partner_id=account.partner_id,
                account_id=account.id,
                items=[item for _, _, item in plan],
                type="ALLOCATE_POINT",
                transaction_code="ALLOCATION",
            )
            successes = [
                {
                    "row": index,
                    "email": row.email,
                    "name": row.name,
                    "mobile": row.mobile,
                    "title": row.title,
                    "loadAmount": row.loadAmount,
                    "remarks": row.remarks,
                    "companyId": account.company_id,
                    "cardAccountId": account.id,
                    "enKashCardId": item.card_id,
                    "userId": item.user_id,
                    "accountBalance": from_minor(txn.account_balance or 0),
                    "enkashCardTxnId": txn.id,
                    "otbBalance": from_minor(txn.card_balance or 0),
                    "uniqueReferenceNumber": row.uniqueReferenceNumber,
                    "pgReferenceNumber": row.uniqueReferenceNumber,
                }
                for (index, row, item), txn in zip(plan, txns, strict=True)
            ]
            return successes, failures

    @staticmethod
    def _card_refusal(card: Card | dict | None) -> str | None:
        if card is None or isinstance(card, dict):
            return None
        try:
            scope.ensure_usable(card)
        except VendorError as exc:
            return exc.message
        return None

    def _bulk_blocker(self, s: Session, account: CardAccount) -> str | None:
        """Account-level reasons the docs list for refusing every row of a bulk upload."""
        primary = s.get(Card, account.primary_card_id) if account.primary_card_id else None
        if primary is None:
            return "Primary Enkash card is not present. So bulk upload cannot be done"
        if primary.kyc_status in NOT_KYC_DONE:
            return "KYC is not uploaded or under review for the primary card. So bulk upload cannot be done"
        return None

    def _bulk_lookups(
        self, s: Session, account: CardAccount, valid: list[tuple[int, dict, BulkRow]]
    ) -> tuple[dict[str, str], dict[str, str], dict[str, Card | dict], set[str | None]]:
        """The holders (ids by mobile and by lower-cased email), their live cards and the references already
        used in the account, for the rows of a bulk upload."""
        mobiles = sorted({row.mobile for _, _, row in valid})
        emails = sorted({row.email.lower() for _, _, row in valid})
        refs = sorted({row.uniqueReferenceNumber for _, _, row in valid})
        by_mobile: dict[str, str] = {}
        by_email: dict[str, str] = {}
        for chunk in _chunks(mobiles):
            for h in s.exec(
                select(CardHolder).where(CardHolder.company_id == account.company_id, col(CardHolder.mobile).in_(chunk))
            ):
                assert h.mobile is not None  # found by its mobile
                by_mobile.setdefault(h.mobile, h.id)
        for chunk in _chunks(emails):
            for h in s.exec(
                select(CardHolder).where(CardHolder.company_id == account.company_id, col(CardHolder.email).in_(chunk))
            ):
                assert h.email is not None  # found by its email
                by_email.setdefault(h.email.lower(), h.id)
        user_ids = sorted({*by_mobile.values(), *by_email.values()})
        cards: dict[str, Card | dict] = {}  # the chunk adds the cards it creates, as column dicts
        for chunk in _chunks(user_ids):
            for c in s.exec(
                select(Card)
                .where(Card.account_id == account.id, col(Card.user_id).in_(chunk), col(Card.replaced_by).is_(None))
                .with_for_update()
            ):
                cards[c.user_id] = c
        used: set[str | None] = set()
        for chunk in _chunks(refs):
            used.update(
                s.exec(
                    select(col(Transaction.pg_reference_number)).where(
                        Transaction.account_id == account.id, col(Transaction.pg_reference_number).in_(chunk)
                    )
                )
            )
        return by_mobile, by_email, cards, used

    # -- SSO -------------------------------------------------------------------------------
    def sso_token(self, partner_id: str, req: SsoRequest, base_url: str) -> dict:
        if not req.card_id:
            raise BadRequest("Mandatory parameter missing: enkashCardId")
        ttl = self.settings.sso_ttl_seconds
        with self.db.write() as s:
            account = scope.get_account(s, partner_id, req.companyId, req.cardAccountId)
            card = scope.get_card(s, account, req.card_id)
            if card.replaced_by or card.status == "BL":
                raise BusinessFailure("Card is blocked permanently")
            token = self.auth.issue_sso(s, partner_id, card.user_id, ttl, card_id=card.id)
            return {
                "token": token.access_token,
                "accessToken": token.access_token,
                "expiresIn": ttl,
                "enkashCardId": card.id,
                "primaryCard": card.primary_card,
                "employeeRewardsUrl": f"{base_url}/sso/{token.access_token}/employee_rewards/hrms",
                "rewardAccountUrl": f"{base_url}/sso/{token.access_token}/reward_account/hrms",
            }


def _bulk_result(successes: list[dict], failures: list[dict], total: int) -> dict:
    successes.sort(key=lambda f: f["row"])
    failures.sort(key=lambda f: f["row"])
    return {
        "successBulkEnKashCardCreateDTOs": successes,
        "failedBulkEnKashCardCreateDTOs": failures,
        "successCount": len(successes),
        "failureCount": len(failures),
        "totalCount": total,
    }


def _failure(index: int, raw: dict, reason: str, status: int) -> dict:
    echo = {k: raw.get(k) for k in ("email", "name", "mobile", "title", "loadAmount", "remarks", "uniqueReferenceNumber")}
    return {"row": index, **echo, "failureReason": reason, "httpStatus": status}


def _chunks(items: list[T], size: int = BULK_CHUNK) -> Iterator[list[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
