"""Cards: issuing, loading and unloading, and the card views partners search."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from enkash_sandbox import ids
from enkash_sandbox import profile as profiles
from enkash_sandbox.errors import AccountNotFound, BusinessFailure, CardNotFound, FieldError
from enkash_sandbox.faults.magic import kyc_for_mobile
from enkash_sandbox.ledger.movements import ACCOUNT, CARD, DuplicateReference, Leg, Movement, replay_duplicates
from enkash_sandbox.money import from_minor, to_minor
from enkash_sandbox.products import records, scope
from enkash_sandbox.products.auth.passwords import hash_password
from enkash_sandbox.products.cards.schemas import CardSearch, CreateCard, HolderFields, LoadBalance
from enkash_sandbox.products.cards.views import card_view
from enkash_sandbox.products.spend.velocity import used_columns, used_params
from enkash_sandbox.products.webhooks import outbox, payloads
from enkash_sandbox.store.sql import Sql
from enkash_sandbox.store.tables import Card, CardAccount, CardHolder, Company
from enkash_sandbox.vocabulary import NON_RELOADABLE, CardOperation, Direction
from sqlmodel import Session

# the load page's two documented (type, transactionCode) pairs: its text (LOAD_MONEY + PRINCIPLE) and the G2 and
# wallet examples (ALLOCATE_FUND + ALLOCATION). UAT validates enums server-side; a code it does not know fails.
LOAD_PAIRS = {"LOAD_MONEY": "PRINCIPLE", "ALLOCATE_FUND": "ALLOCATION"}


def check_load_codes(req: LoadBalance) -> None:
    """The load page's documented type/transactionCode pairs (profile balanceDebit=refuse; either may be left
    out). Checked with the other field rules, before any look-up. A DR gets the page's own answer, "DR not
    allowed on this card" (after the look-ups), whatever codes it names: the G1 page's DR example sends SALE."""
    if req.transactionType == Direction.DR:
        return
    codes = set(LOAD_PAIRS.values())
    if req.type is not None and req.type not in LOAD_PAIRS:
        raise FieldError("type", f"must be one of {', '.join(LOAD_PAIRS)} for a load")
    if req.transactionCode is not None and req.transactionCode not in codes:
        raise FieldError("transactionCode", f"must be one of {', '.join(sorted(codes))}")
    if req.type is not None and req.transactionCode is not None and LOAD_PAIRS[req.type] != req.transactionCode:
        raise FieldError(
            "transactionCode",
            f"must be {LOAD_PAIRS[req.type]} with type {req.type}",
            summary=f"type {req.type} goes with transactionCode {LOAD_PAIRS[req.type]}, not {req.transactionCode}",
        )


if TYPE_CHECKING:
    from enkash_sandbox.clock import Clock
    from enkash_sandbox.config import Settings
    from enkash_sandbox.ledger.movements import Ledger
    from enkash_sandbox.profile import Profile
    from enkash_sandbox.store.engine import Database


DEFAULT_CONTROLS = {
    "posAllowed": False,
    "posAllowedAdmin": False,
    "atmAllowed": False,
    "atmAllowedAdmin": False,
    "onlineAllowed": False,
    "onlineAllowedAdmin": False,
    "contactlessAllowed": False,
    "contactlessAllowedAdmin": False,
    "internationalAllowed": False,
    "internationalAllowedAdmin": False,
}


# the single-card search: the card, its context and its usage in the day, month and year, in one statement
_SEARCHED_CARD = records.card_context_query(used_columns("c.id"))


class CardService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, ledger: Ledger) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.ledger = ledger
        # the single-card search's rendered views, by the row they came from (records.RowViews)
        self.searched_views = records.RowViews(lambda row: card_view(*records.context_of(row)))

    # -- holders ---------------------------------------------------------------------------
    def holder_row(
        self, s: Session, company: Company, fields: HolderFields, *, first_name: str | None = None, password: str | None = None
    ) -> dict:
        """The column values of a new card holder (shared by single creation and bulk inserts)."""
        profile = {k: getattr(fields, k, None) for k in ("address", "address2", "city", "state", "country", "pincode")}
        for key in (
            "physicalDeliveryAddressFlag",
            "deliveryAddress",
            "deliveryAddress2",
            "deliveryCity",
            "deliveryState",
            "deliveryCountry",
            "deliveryPincode",
        ):
            if hasattr(fields, key):
                profile[key] = getattr(fields, key)
        documents = [d.model_dump() for d in (fields.documents or [])]
        pan = next((d["docNo"] for d in documents if d["docType"] == "PAN"), None)
        profile["documents"] = documents
        return {
            "id": self.db.new_id(s, "user"),
            "partner_id": company.partner_id,
            "company_id": company.id,
            "title": fields.title,
            "first_name": first_name or fields.firstName,
            "middle_name": fields.middleName,
            "last_name": fields.lastName,
            "email": fields.email,
            "mobile": fields.mobile,
            "gender": fields.gender,
            "special_date": fields.specialDate,
            "pan": pan,
            "profile": {k: v for k, v in profile.items() if v is not None},
            "password_hash": hash_password(password or self.settings.holder_password),
            "failed_logins": 0,
            "locked": False,
            "coin_balance": 0,
            "created_at": self.clock.now(),
        }

    def new_holder(
        self, s: Session, company: Company, fields: HolderFields, *, first_name: str | None = None, password: str | None = None
    ) -> CardHolder:
        holder = CardHolder(**self.holder_row(s, company, fields, first_name=first_name, password=password))
        s.add(holder)
        s.flush()
        return holder

    def resolve_holder(
        self, s: Session, company: Company, fields: HolderFields, user_id: str | None, *, first_name: str | None = None
    ) -> CardHolder:
        if user_id:
            return scope.get_holder(s, company.id, user_id)
        if not fields.mobile and not fields.email:
            # G1 marks userId, mobile and email all optional: a card for a holder the company does not identify
            # (a bearer gift card) goes to a new user without contact details (profile requiredFields=strict
            # refuses the body instead, before it gets here)
            return self.new_holder(s, company, fields, first_name=first_name)
        found = scope.find_holder(s, company.id, mobile=fields.mobile, email=fields.email)
        return found or self.new_holder(s, company, fields, first_name=first_name)

    # -- cards -----------------------------------------------------------------------------
    def card_row(
        self,
        s: Session,
        account: CardAccount,
        user_id: str,
        *,
        pan: str | None = None,
        mobile: str | None = None,
        physical: bool = False,
        primary: bool = False,
        remarks: str | None = None,
        kyc_status: str | None = None,
    ) -> dict:
        """The column values of a new card (shared by single creation and bulk inserts)."""
        n = self.db.next_ids(s, "card")[0]
        seed = self.db.seed
        now = self.clock.now()
        years = 2 if account.account_type in NON_RELOADABLE else 5
        return {
            "id": ids.format_id(seed, "card", n),
            "seq": n,
            "partner_id": account.partner_id,
            "account_id": account.id,
            "user_id": user_id,
            "token": ids.hex_token(seed, "card-token", n),
            "masked_number": masked_number(seed, n, mobile=mobile, primary=primary),
            "expiry_month": f"{now.month:02d}",
            "expiry_year": str(now.year + years),
            "balance_minor": 0,
            "status": "UL",
            "kyc_status": kyc_status or kyc_for_mobile(mobile) or ("MIN_KYC_VERIFIED" if pan else "NOT_UPLOADED"),
            "bin_type": account.account_type,
            "kit_type": "RUPAY",
            "physical_card": physical,
            "primary_card": primary,
            "card_activated": True,
            "load_amount_minor": 0,
            "last_allocated_minor": 0,
            "remarks": remarks,
            "controls": dict(DEFAULT_CONTROLS),
            "replaced_by": None,
            "pin_hash": None,
            "created_at": now,
            "modified_at": now,
        }

    def new_card(
        self,
        s: Session,
        account: CardAccount,
        holder: CardHolder,
        *,
        physical: bool = False,
        primary: bool = False,
        remarks: str | None = None,
        kyc_status: str | None = None,
    ) -> Card:
        card = Card(
            **self.card_row(
                s,
                account,
                holder.id,
                pan=holder.pan,
                mobile=holder.mobile,
                physical=physical,
                primary=primary,
                remarks=remarks,
                kyc_status=kyc_status,
            )
        )
        s.add(card)
        s.flush()
        if primary and not account.primary_card_id:
            account.primary_card_id = card.id
            s.add(account)
        return card

    def view(self, s: Session, card: Card, account: CardAccount | None = None) -> dict:
        if account is None:
            account = s.get(CardAccount, card.account_id)
            assert account is not None  # account_id is a foreign key
        holder = s.get(CardHolder, card.user_id)
        company = s.get(Company, account.company_id)
        assert holder is not None and company is not None  # foreign keys
        return card_view(card, holder, account, company)

    def create(self, partner_id: str, req: CreateCard, profile: Profile | None = None) -> dict[str, Any]:
        profile = profile or profiles.resolve(self.settings, None)
        gift_load_required = profile.gift_load_amount == "required"
        return replay_duplicates(profile, lambda: self._create(partner_id, req, gift_load_required), self.ledger.first_response)

    def _create(self, partner_id: str, req: CreateCard, gift_load_required: bool = False) -> dict:
        with self.db.write() as s:
            account = scope.get_account(s, partner_id, req.companyId, req.cardAccountId)
            if account.account_type in NON_RELOADABLE and req.loadAmount is None and gift_load_required:
                raise FieldError(
                    "loadAmount",
                    "is required for GIFT cards",
                    status=400,
                    summary="loadAmount is required for GIFT card accounts",
                )
            if req.transactionType == "DR":
                raise FieldError("transactionType", "must be CR", summary="transactionType must be CR when creating a card")
            company = s.get(Company, account.company_id)
            assert company is not None  # company_id is a foreign key
            holder = self.resolve_holder(s, company, req, req.userId)
            existing = scope.card_of_holder(s, account.id, holder.id)
            if (
                existing is not None
                and req.reference
                and self.ledger.reference_used(self.db.tx_of(s, flush=False), account.id, req.reference)
            ):
                # the same create sent again (a retry): a repeated reference, answered as every repeat is
                # (refused, or replayed under duplicateReference=replay), not as a second card for the holder
                raise DuplicateReference(req.reference, account.id)
            if existing is not None:
                raise FieldError(
                    "userId",
                    "already has a card in this account",
                    summary=f"Card already exists for userId: {holder.id} in cardAccountId: {account.id}"
                    f" (enKashCardId: {existing.id})",
                )
            card = self.new_card(
                s, account, holder, physical=req.physicalCard, primary=req.primaryEnKashCard, remarks=req.remarks
            )
            txn = None
            if req.loadAmount is not None:
                minor = to_minor(req.loadAmount)
                txn = self.ledger.account_to_card(
                    s,
                    account,
                    card,
                    minor,
                    type=req.type or "ALLOCATE_FUND",
                    transaction_code=req.transactionCode or "ALLOCATION",
                    reference=req.reference,
                    remarks=req.remarks,
                    created_by=req.createdBy,
                )
            view = self.view(s, card, account)
            view["enkashCardTxnId"] = txn.id if txn else None
            view["pgReferenceNumber"] = req.reference
            if txn is not None:
                self.ledger.set_response(self.db.tx_of(s, flush=False), txn.id, view)
            return view

    # -- balance (a hot path: prebuilt SQL) -----------------------------------------------------------------
    def load(self, partner_id: str, req: LoadBalance, profile: Profile | None = None) -> dict[str, Any]:
        profile = profile or profiles.resolve(self.settings, None)
        refuse_debit = profile.balance_debit == "refuse"
        if refuse_debit:
            check_load_codes(req)
        return replay_duplicates(profile, lambda: self._load(partner_id, req, refuse_debit), self.ledger.first_response)

    def _load(self, partner_id: str, req: LoadBalance, refuse_debit: bool = False) -> dict[str, Any]:
        credit = req.transactionType == Direction.CR
        minor = to_minor(req.amount)
        with self.db.tx(write=True) as tx:
            row = tx.one(_CARD_FOR_MOVE, {"card_id": req.enKashCardId, "on": True})
            if row is None or row[1] != partner_id:
                raise CardNotFound(req.enKashCardId)
            card = _MovableCard(*row[:8])
            account_id = req.cardAccountId or card.account_id
            company_id, account_type, has_subscriptions = row[8], row[9], row[10]
            if account_id != card.account_id:
                other = tx.one(_ACCOUNT_OF_PARTNER, {"account_id": account_id})
                if other is None or other[0] != partner_id or (req.companyId and other[1] != req.companyId):
                    raise AccountNotFound(req.companyId, account_id)
                raise CardNotFound(req.enKashCardId, account_id)  # the account-scoped 404
            if req.companyId and company_id != req.companyId:
                raise AccountNotFound(req.companyId, account_id)
            if account_type in NON_RELOADABLE:
                raise BusinessFailure("Load Balance is not allowed on GIFT cards (non-reloadable)")
            if refuse_debit and not credit:
                # the load page's rule, after the look-ups: an unknown or foreign card still answers 404
                raise BusinessFailure("DR not allowed on this card")
            scope.ensure_usable(card, CardOperation.CREDIT if credit else CardOperation.UNLOAD)
            # who wants CARD_LOADED, read before the ledger locks the account (on PostgreSQL until the commit)
            subscribed = outbox.subscribers(tx, partner_id, "CARD_LOADED", company_id) if credit and has_subscriptions else []

            def respond(moved: Movement) -> dict[str, Any]:
                return {
                    "enKashCardId": card.id,
                    "cardAccountId": account_id,
                    "companyId": company_id,
                    "userId": card.user_id,
                    "maskedNumber": card.masked_number,
                    "enkashCardTxnId": moved.id,
                    "pgReferenceNumber": req.reference,
                    "amount": req.amount,
                    "transactionType": req.transactionType,
                    "type": moved.type,
                    "transactionCode": moved.transaction_code,
                    "status": moved.status,
                    "otbBalance": from_minor(moved.card_balance or 0),
                    "accountBalance": from_minor(moved.account_balance or 0),
                }

            moved = self.ledger.record(
                tx,
                partner_id=partner_id,
                account_id=account_id,
                card_id=card.id,
                user_id=card.user_id,
                legs=[Leg(ACCOUNT, account_id, -minor), Leg(CARD, card.id, minor)]
                if credit
                else [Leg(CARD, card.id, -minor), Leg(ACCOUNT, account_id, minor)],
                direction=req.transactionType,
                type=req.type or ("LOAD_MONEY" if credit else "UNALLOCATE_POINT"),
                amount_minor=minor,
                transaction_code=req.transactionCode or "PRINCIPLE",
                reference=req.reference,
                description=req.description,
                remarks=req.remarks,
                created_by=req.createdBy,
                remember="load" if credit else None,
                respond=respond,
            )
            if subscribed:
                # in the load's own transaction: no load without its event, no event without the load
                outbox.emit(
                    self.db,
                    tx,
                    moved.created_at,
                    partner_id=partner_id,
                    event_type="CARD_LOADED",
                    company_id=company_id,
                    subscribed=subscribed,
                    payload=lambda: payloads.card_loaded(
                        card_id=card.id,
                        account_id=account_id,
                        company_id=company_id,
                        user_id=card.user_id,
                        amount=req.amount,
                        balance=from_minor(moved.card_balance or 0),
                        transaction_id=moved.id,
                        reference=req.reference,
                        created_on=moved.created_at,
                    ),
                )
            return moved.response

    # -- search (a hot path: prebuilt SQL) ------------------------------------------------------------------
    def search(self, partner_id: str, req: CardSearch) -> tuple[str, dict[str, Any]]:
        """('one', card view) when enKashCardId is given, else ('list', {recordsCount, data})."""
        # one card is one statement (a statement is its own snapshot): no BEGIN and COMMIT on SQLite
        with self.db.tx(write=False, one_statement=bool(req.enKashCardId)) as tx:
            if req.enKashCardId:
                found = records.card_row_with_context(tx, req.enKashCardId, _SEARCHED_CARD, used_params(self.clock.now()))
                if (
                    found is None
                    or found[records.ACCOUNT_ID] != req.cardAccountId
                    or found[records.ACCOUNT_PARTNER] != partner_id
                    or (req.companyId and found[records.ACCOUNT_COMPANY] != req.companyId)
                ):
                    # unknown, foreign or mismatched ids answer exactly like the separate look-ups would:
                    # the account's own 404 first, then the card's
                    owner = records.account_with_company(tx, req.cardAccountId)
                    if (
                        owner is None
                        or owner[0].partner_id != partner_id
                        or (req.companyId and owner[0].company_id != req.companyId)
                    ):
                        raise AccountNotFound(req.companyId, req.cardAccountId)
                    raise CardNotFound(req.enKashCardId, req.cardAccountId)
                view = self.searched_views.view(found[: records.N_CONTEXT])
                day, month, year = found[records.N_CONTEXT :]
                view.update(usedDtd=from_minor(day or 0), usedMtd=from_minor(month or 0), usedYtd=from_minor(year or 0))
                return "one", view
            owner = records.account_with_company(tx, req.cardAccountId)
            if owner is None or owner[0].partner_id != partner_id or (req.companyId and owner[0].company_id != req.companyId):
                raise AccountNotFound(req.companyId, req.cardAccountId)
            account, company = owner
            rows = records.cards_of_account(tx, account.id, limit=req.limit, offset=req.offset)
            data = [card_view(card, holder, account, company) for card, holder in rows]
            return "list", {"recordsCount": len(data), "data": data}


def masked_number(seed: int, n: int, *, mobile: str | None, primary: bool) -> str:
    """The card number as the docs mask it. Their examples show two forms: the account's primary card as its
    issued number's first six and last two digits (`2004 01XX XXXX XX87`, Get Card Account Details), and a holder's
    card as its last four, which are the holder mobile's last four in both examples (`XXXX XXXX XXXX 8867` for
    9600098867, `XXXX XXXX XXXX 3211` for 6876543211). A card with neither gets four seeded digits."""
    if primary:
        return "2004 01XX XXXX XX" + ids.digits(seed, "card-last4", n, 2)
    if mobile and len(mobile) >= 4 and mobile[-4:].isdigit():
        return "XXXX XXXX XXXX " + mobile[-4:]
    return "XXXX XXXX XXXX " + ids.digits(seed, "card-last4", n, 4)


class _MovableCard(NamedTuple):
    """What a load needs to know about a card (and what ensure_usable reads)."""

    id: str
    partner_id: str
    account_id: str
    user_id: str
    status: str
    replaced_by: str | None
    masked_number: str
    kyc_status: str


_CARD_FOR_MOVE = Sql(
    "SELECT c.id, c.partner_id, c.account_id, c.user_id, c.status, c.replaced_by, c.masked_number, c.kyc_status, "
    "a.company_id, a.account_type, "
    # whether the partner has any enabled webhook subscription: most have none, and then a load reads no more
    "EXISTS (SELECT 1 FROM webhook_subscription s WHERE s.partner_id = c.partner_id AND s.enabled = :on) "
    "FROM card c JOIN card_account a ON a.id = c.account_id WHERE c.id = :card_id"
)
_ACCOUNT_OF_PARTNER = Sql("SELECT partner_id, company_id FROM card_account WHERE id = :account_id")
