"""Point Management: EnKash coins per event, allocated to users with an idempotent requestId."""

from __future__ import annotations

from typing import TYPE_CHECKING

from enkash_sandbox.errors import BusinessFailure, FieldError, NotFound
from enkash_sandbox.products import scope
from enkash_sandbox.products.coins.schemas import CoinAllocate, CoinConfigCreate, CoinConfigUpdate
from enkash_sandbox.store.tables import CardHolder, CoinConfig, CoinEntry
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

if TYPE_CHECKING:
    from enkash_sandbox.clock import Clock
    from enkash_sandbox.store.engine import Database


ALLOCATED = "Successfully allocated enkash Coins"


def config_view(config: CoinConfig) -> dict:
    return {
        "coinConfigId": config.id,
        "configuration": config.configuration,
        "event": config.event,
        "amount": config.amount,
        "companyId": config.company_id,
    }


class CoinService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def create_config(self, partner_id: str, req: CoinConfigCreate) -> dict:
        with self.db.write() as s:
            company = scope.get_company(s, partner_id, req.companyId)
            self._unique_event(s, company.id, req.event)
            now = self.clock.now()
            config = CoinConfig(
                id=self.db.new_id(s, "coin_config"),
                partner_id=partner_id,
                company_id=company.id,
                event=req.event,
                configuration=req.configuration,
                amount=req.amount,
                created_at=now,
                modified_at=now,
            )
            s.add(config)
            return config_view(config)

    def get_config(self, partner_id: str, config_id: str) -> dict:
        with self.db.read() as s:
            return config_view(self._config(s, partner_id, config_id))

    def update_config(self, partner_id: str, config_id: str, req: CoinConfigUpdate) -> dict:
        with self.db.write() as s:
            config = self._config(s, partner_id, config_id)
            if req.companyId and req.companyId != config.company_id:
                scope.get_company(s, partner_id, req.companyId)
                config.company_id = req.companyId
            if req.event and req.event != config.event:
                self._unique_event(s, config.company_id, req.event)
                config.event = req.event
            if req.amount is not None:
                config.amount = req.amount
            if req.configuration is not None:
                config.configuration = req.configuration
            config.modified_at = self.clock.now()
            s.add(config)
            return config_view(config)

    def allocate(self, partner_id: str, req: CoinAllocate) -> str:
        try:
            with self.db.write() as s:
                scope.get_company(s, partner_id, req.companyId)
                holder = s.get(CardHolder, req.userId)
                if holder is None or holder.company_id != req.companyId:
                    raise NotFound(f"User not found for companyId: {req.companyId} and userId: {req.userId}")
                seen = s.exec(
                    select(CoinEntry).where(CoinEntry.partner_id == partner_id, CoinEntry.request_id == req.requestId)
                ).first()
                if seen is not None:
                    if (seen.user_id, seen.event) != (req.userId, req.event):
                        raise BusinessFailure(f"requestId {req.requestId} was already used for another allocation")
                    return ALLOCATED  # idempotent: the first allocation stands, nothing is credited twice
                config = s.exec(
                    select(CoinConfig).where(CoinConfig.company_id == req.companyId, CoinConfig.event == req.event)
                ).first()
                if config is None:
                    raise BusinessFailure(f"No coin configuration for event {req.event} in company {req.companyId}")
                balance = s.execute(
                    update(CardHolder)
                    .where(col(CardHolder.id) == holder.id)
                    .values(coin_balance=col(CardHolder.coin_balance) + config.amount)
                    .returning(col(CardHolder.coin_balance)),
                    execution_options={"synchronize_session": False},
                ).scalar_one()
                s.add(
                    CoinEntry(
                        partner_id=partner_id,
                        company_id=req.companyId,
                        user_id=holder.id,
                        config_id=config.id,
                        event=config.event,
                        request_id=req.requestId,
                        amount=config.amount,
                        balance_after=balance,
                        created_at=self.clock.now(),
                    )
                )
                return ALLOCATED
        except IntegrityError:
            # a concurrent twin with the same requestId won the race: it is the one allocation
            return ALLOCATED

    def balance(self, partner_id: str, user_id: str) -> int:
        with self.db.read() as s:
            holder = s.get(CardHolder, user_id)
            if holder is None or holder.partner_id != partner_id:
                raise NotFound(f"User not found: {user_id}")
            return holder.coin_balance

    def history(self, user_id: str, limit: int = 50) -> list[CoinEntry]:
        with self.db.read() as s:
            return list(
                s.exec(select(CoinEntry).where(CoinEntry.user_id == user_id).order_by(col(CoinEntry.id).desc()).limit(limit))
            )

    @staticmethod
    def _config(s: Session, partner_id: str, config_id: str) -> CoinConfig:
        config = s.get(CoinConfig, config_id)
        if config is None or config.partner_id != partner_id:
            raise NotFound(f"Coin configuration not found: {config_id}")
        return config

    @staticmethod
    def _unique_event(s: Session, company_id: str, event: str) -> None:
        existing = s.exec(select(CoinConfig).where(CoinConfig.company_id == company_id, CoinConfig.event == event)).first()
        if existing is not None:
            raise FieldError("event", f"{event} is already configured for company {company_id} ({existing.id})")
