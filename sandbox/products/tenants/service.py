"""Tenants: a partner with its credentials, one company, and a funded card account of each common type."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from enkash_sandbox import ids
from enkash_sandbox import profile as profiles
from enkash_sandbox.money import from_minor, to_minor
from enkash_sandbox.products.auth.passwords import hash_password
from enkash_sandbox.products.cards.schemas import HolderFields
from enkash_sandbox.store.tables import CardAccount, Company, Partner, TenantBaseline
from enkash_sandbox.vocabulary import DEFAULT_ACCOUNT_TYPES, REWARD_ACCOUNTS
from sqlmodel import Session, col, select

if TYPE_CHECKING:
    from enkash_sandbox.clock import Clock
    from enkash_sandbox.config import Settings
    from enkash_sandbox.ledger.movements import Ledger
    from enkash_sandbox.products.cards.accounts import AccountService
    from enkash_sandbox.products.cards.service import CardService
    from enkash_sandbox.products.payouts.service import PayoutService
    from enkash_sandbox.products.tenants.names import Names
    from enkash_sandbox.store.control import ControlStore
    from enkash_sandbox.store.engine import Database
    from enkash_sandbox.store.snapshots import StateStore


class TenantService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        ledger: Ledger,
        cards: CardService,
        accounts: AccountService,
        control: ControlStore,
        state: StateStore,
        names: Names,
        payouts: PayoutService | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.ledger = ledger
        self.cards = cards
        self.accounts = accounts
        self.control = control
        self.state = state
        self.names = names
        # every tenant gets a payout fund source and two beneficiaries (products/payouts)
        self.payouts = payouts

    def provision(
        self,
        *,
        encryption: str | None = None,
        fund_balance: Decimal | None = None,
        name: str | None = None,
        fixed: dict | None = None,
        account_types: tuple[str, ...] = DEFAULT_ACCOUNT_TYPES,
        profile: dict | None = None,
    ) -> dict:
        """Create an isolated tenant and return its credentials. `fixed` pins credentials (demo fixture);
        `profile` holds the fidelity profile keys it chooses (validated by the caller).
        Its reset baseline is saved in the same transaction, so no reset can fall between the two."""
        with self.db.write() as s:
            creds = self.provision_in(
                s,
                encryption=encryption,
                fund_balance=fund_balance,
                name=name,
                fixed=fixed,
                account_types=account_types,
                profile=profile,
            )
            self.save_baseline(s, creds["partnerId"])
        return creds

    def save_baseline(self, s: Session, partner_id: str) -> None:
        """Remember the tenant's rows as they are in this transaction: POST /_sandbox/partners/{id}/reset
        returns to them."""
        s.flush()
        data = self.state.dump(s, partner_id)
        row = s.get(TenantBaseline, partner_id)
        if row is None:
            s.add(TenantBaseline(partner_id=partner_id, data=data))
        else:
            row.data = data
            s.add(row)

    def reset(self, partner_id: str) -> bool:
        """Put one tenant back to its provisioned state; other tenants are untouched. The store lock is taken
        exclusively (PostgreSQL), so no request of that tenant runs across the reset."""
        with self.db.write(exclusive=True) as s:
            row = s.get(TenantBaseline, partner_id)
            if row is None:
                return False
            self.state.restore_tenant(s, partner_id, row.data)
            partner = s.get(Partner, partner_id)
            if partner is not None:
                partner.locked, partner.failed_logins = False, 0
                s.add(partner)
            self.control.stamp(s, epoch=True)
        self.control.published()
        return True

    def provision_in(
        self,
        s: Session,
        *,
        encryption: str | None,
        fund_balance: Decimal | None,
        name: str | None,
        fixed: dict | None,
        account_types: tuple[str, ...],
        funded_at: datetime | None = None,
        profile: dict | None = None,
    ) -> dict:
        settings = self.settings
        db = self.db
        fixed = fixed or {}
        n = db.next_ids(s, "tenant")[0]
        seed = db.seed
        faker = self.names.faker(f"tenant:{n}")
        partner_id = fixed.get("partnerId") or db.new_id(s, "partner")
        company_id = fixed.get("companyId") or db.new_id(s, "company")
        company_name = fixed.get("companyName") or name or faker.company()
        secret = fixed.get("clientSecret") or ids.hex_token(seed, "client-secret", n, 40)
        username = str(fixed.get("username") or "6" + ids.digits(seed, "partner-username", n, 9))
        password = fixed.get("password") or "Sbx@" + ids.hex_token(seed, "partner-password", n, 8)
        mode = encryption or fixed.get("encryption") or settings.default_encryption
        now = self.clock.now()
        s.add(
            Partner(
                id=partner_id,
                name=fixed.get("name") or company_name,
                client_id=company_id,
                client_secret=secret,
                username=username,
                password_hash=hash_password(password),
                encryption=mode,
                profile=dict(profile or {}),
                created_at=now,
            )
        )
        s.flush()
        domain = "".join(ch for ch in company_name.lower() if ch.isalnum())[:20] or "company"
        company = Company(
            id=company_id,
            partner_id=partner_id,
            name=company_name,
            email=f"admin@{domain}.example",
            mobile=username,
            created_at=now,
        )
        s.add(company)
        s.flush()
        # the company admin, whose primary card EnKash creates at onboarding (the HR-admin SSO card)
        admin = self.cards.new_holder(
            s,
            company,
            HolderFields(
                title="Mr",
                firstName="Admin",
                lastName=company_name.split()[0][:40],
                email=f"hr@{domain}.example",
                mobile="7" + ids.digits(seed, "admin-mobile", n, 9),
            ),
        )
        fund = Decimal(settings.default_fund_balance) if fund_balance is None else fund_balance
        accounts: dict[str, str] = {}
        for account_type in account_types:
            account = self.accounts.new_account(
                s,
                company,
                account_type,
                f"{company_name} {account_type.replace('_', ' ').title()}",
                plan_master_id=db.new_id(s, "plan"),
            )
            self.cards.new_card(
                s, account, admin, primary=True, kyc_status="VERIFIED" if account_type in REWARD_ACCOUNTS else None
            )
            if fund > 0:
                self.ledger.fund_account(s, account, to_minor(fund), remarks="Sandbox prefunding", at=funded_at)
            accounts[account_type] = account.id
        fund_source_id = None
        if self.payouts is not None:
            fund_source_id = self.payouts.provision(
                db.tx_of(s), partner_id=partner_id, company_id=company_id, n=n, at=funded_at or now
            )
        return {
            "partnerId": partner_id,
            "clientId": company_id,
            "clientSecret": secret,
            "username": username,
            "password": password,
            "companyId": company_id,
            "companyName": company_name,
            "cardAccounts": accounts,
            "payoutFundSourceId": fund_source_id,
            "encryption": mode,
            "profile": profiles.resolve(settings, profile).public(),
        }

    def list_partners(self) -> list[Partner]:
        with self.db.read() as s:
            return list(s.exec(select(Partner).order_by(col(Partner.created_at), col(Partner.id))))

    def set_encryption(self, partner_id: str, mode: str) -> bool:
        with self.db.write() as s:
            partner = s.get(Partner, partner_id)
            if partner is None:
                return False
            partner.encryption = mode
            s.add(partner)
            # every worker caches principals with their partner's mode: a new epoch makes them all re-read
            self.control.stamp(s, epoch=True)
        self.control.published()
        return True

    def profile(self, partner_id: str) -> dict | None:
        """The tenant's effective fidelity profile and the keys it chose (None: unknown partner)."""
        with self.db.read() as s:
            partner = s.get(Partner, partner_id)
            if partner is None:
                return None
            return {"partnerId": partner_id, **profiles.describe(self.settings, partner.profile)}

    def change_profile(self, partner_id: str, changes: dict) -> dict | None:
        """Apply validated changes: a value sets the key, None drops the tenant's choice (back to the default).
        A new epoch makes every worker re-read its cached principals, which carry the profile."""
        with self.db.write() as s:
            partner = s.get(Partner, partner_id)
            if partner is None:
                return None
            chosen = dict(partner.profile or {})
            for name, value in changes.items():
                if value is None:
                    chosen.pop(name, None)
                else:
                    chosen[name] = value
            partner.profile = chosen
            s.add(partner)
            self.control.stamp(s, epoch=True)
        self.control.published()
        return {"partnerId": partner_id, **profiles.describe(self.settings, chosen)}

    def fund(self, account_id: str, amount: Decimal, remarks: str | None = None) -> dict | None:
        with self.db.write() as s:
            account = s.get(CardAccount, account_id)
            if account is None:
                return None
            txn = self.ledger.fund_account(s, account, to_minor(amount), remarks=remarks)
            return {"cardAccountId": account.id, "enkashCardTxnId": txn.id, "availableBalance": from_minor(account.balance_minor)}
