"""OAuth token issuing (Spring-OAuth shaped), lockout, and token -> principal resolution."""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from enkash_sandbox import profile as profiles
from enkash_sandbox.crypto import same_secret
from enkash_sandbox.errors import AuthError
from enkash_sandbox.products.auth.passwords import verify_password
from enkash_sandbox.store.tables import CardHolder, Partner, Token
from sqlmodel import Session, col, select

if TYPE_CHECKING:
    from enkash_sandbox.clock import Clock
    from enkash_sandbox.config import Settings
    from enkash_sandbox.store.engine import Database


@dataclass(frozen=True)
class Principal:
    kind: str  # partner | user | sso
    partner_id: str
    user_id: str | None
    client_secret: str
    encryption: str
    expires_at: datetime
    card_id: str | None = None
    # the tenant's fidelity profile, resolved when the token was read (a profile change starts a new epoch, so
    # every worker re-reads it)
    profile: profiles.Profile = profiles.Profile()

    @property
    def holder_id(self) -> str:
        """The card holder a user or SSO token acts for (every such token names one)."""
        assert self.user_id is not None, "not a card holder's token"
        return self.user_id


def _bad_client() -> AuthError:
    return AuthError(401, "invalid_client", "Bad client credentials")


class AuthService:
    CACHE_SECONDS = 1.0

    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    # -- client authentication -------------------------------------------------------------
    def authenticate_client(self, authorization: str | None) -> Partner:
        if not authorization or not authorization.lower().startswith("basic "):
            raise AuthError(401, "unauthorized", "Full authentication is required to access this resource")
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise AuthError(401, "invalid_client", "Malformed Basic authorization header") from exc
        client_id, sep, client_secret = decoded.partition(":")
        if not sep:
            raise AuthError(401, "invalid_client", "Malformed Basic authorization header")
        with self.db.read() as s:
            partner = s.exec(select(Partner).where(Partner.client_id == client_id)).first()
        if partner is None or not same_secret(client_secret, partner.client_secret):
            raise _bad_client()
        return partner

    def partner_of_basic(self, authorization: str | None) -> str | None:
        """The partner a Basic header names (for the journal), without checking the secret."""
        if not authorization or not authorization.lower().startswith("basic "):
            return None
        try:
            client_id = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8").partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            return None
        with self.db.read() as s:
            partner = s.exec(select(Partner).where(Partner.client_id == client_id)).first()
            return partner.id if partner else None

    # -- grants ----------------------------------------------------------------------------
    def password_grant(self, partner: Partner, username: str, password: str) -> dict:
        """Log in the partner itself (its username) or one of its card holders (mobile)."""
        settings = self.settings
        with self.db.write() as s:
            subject: Partner | CardHolder | None
            if username == partner.username:
                subject = s.get(Partner, partner.id)
                kind, user_id = "partner", None
            else:
                subject = s.exec(
                    select(CardHolder)
                    .where(CardHolder.partner_id == partner.id, CardHolder.mobile == username)
                    .order_by(col(CardHolder.created_at))
                ).first()
                kind, user_id = "user", subject.id if subject else None
            if subject is None:
                raise AuthError(400, "invalid_grant", "Bad credentials")
            if subject.locked and self.lock_lifted(subject):
                subject.locked, subject.failed_logins, subject.locked_at = False, 0, None
            if subject.locked:
                raise self.locked_error(partner.id, username, subject)
            if not verify_password(password, subject.password_hash):
                subject.failed_logins += 1
                if subject.failed_logins >= settings.max_failed_logins:
                    subject.locked, subject.locked_at = True, self.clock.now()
                    s.add(subject)
                    s.commit()
                    raise self.locked_error(partner.id, username, subject)
                s.add(subject)
                s.commit()
                raise AuthError(400, "invalid_grant", "Bad credentials")
            subject.failed_logins = 0
            s.add(subject)
            return self._issue(s, partner.id, user_id, kind, ttl=self.token_ttl(partner))

    def refresh_grant(self, partner: Partner, refresh_token: str) -> dict:
        now = self.clock.now()
        with self.db.write() as s:
            old = s.exec(select(Token).where(Token.refresh_token == refresh_token)).first()
            if old is None or old.partner_id != partner.id or (old.refresh_expires_at and old.refresh_expires_at <= now):
                # never echo the token: whatever a caller sends by mistake must not reach logs or the journal
                raise AuthError(400, "invalid_grant", "Invalid refresh token")
            # a locked login stays locked: a refresh token issued before the lock does not get around it
            subject = (
                s.get(Partner, old.partner_id)
                if old.kind == "partner"
                else (s.get(CardHolder, old.user_id) if old.user_id else None)
            )
            if subject is not None and subject.locked and not self.lock_lifted(subject):
                login = subject.username if isinstance(subject, Partner) else (subject.mobile or subject.id)
                raise self.locked_error(old.partner_id, login, subject)
            # Spring reuses the refresh token by default; the access token it replaces stops working
            s.delete(old)
            s.flush()
            self._forget(old.access_token)
            return self._issue(
                s,
                old.partner_id,
                old.user_id,
                old.kind,
                refresh_token=refresh_token,
                refresh_expires_at=old.refresh_expires_at,
                ttl=self.token_ttl(partner),
            )

    def lock_lifted(self, subject: Partner | CardHolder) -> bool:
        """A lock lifts ENKASH_SANDBOX_LOCKOUT_SECONDS after it was set, on the sandbox clock (advance the clock
        to test it); a lock from a store made before locks had a time never lifts by itself."""
        return subject.locked_at is not None and self.clock.now() >= subject.locked_at + timedelta(
            seconds=self.settings.lockout_seconds
        )

    def locked_error(self, partner_id: str, login: str, subject: Partner | CardHolder) -> AuthError:
        """EnKash's answer, with how to get out of it in X-Sandbox-Explain."""
        until = ""
        if subject.locked_at is not None:
            lifted = subject.locked_at + timedelta(seconds=self.settings.lockout_seconds)
            until = f"it unlocks by itself at {lifted.isoformat(timespec='seconds')}Z on the sandbox clock, or "
        return AuthError(
            400,
            "invalid_grant",
            "User account is locked",
            hint=f"login {login} of partner {partner_id} is locked after {self.settings.max_failed_logins} bad passwords; "
            f"{until}unlock it now with 'enkash-sandbox unlock {login} --partner {partner_id}', the Unlock button on "
            f"the dashboard's tenant page, or POST /_sandbox/partners/{partner_id}/unlock",
        )

    def token_ttl(self, partner: Partner) -> int:
        """The access token lifetime of this tenant's profile (tokenTtlSeconds)."""
        return profiles.resolve(self.settings, partner.profile).token_ttl_seconds

    def _issue(
        self,
        s: Session,
        partner_id: str,
        user_id: str | None,
        kind: str,
        *,
        refresh_token: str | None = None,
        refresh_expires_at: datetime | None = None,
        ttl: int | None = None,
    ) -> dict:
        settings = self.settings
        now = self.clock.now()
        ttl = settings.token_ttl_seconds if ttl is None else ttl
        token = Token(
            access_token=secrets.token_urlsafe(20),
            refresh_token=refresh_token or secrets.token_urlsafe(20),
            partner_id=partner_id,
            user_id=user_id,
            kind=kind,
            expires_at=now + timedelta(seconds=ttl),
            refresh_expires_at=refresh_expires_at or now + timedelta(seconds=settings.refresh_ttl_seconds),
            created_at=now,
        )
        s.add(token)
        return {
            "access_token": token.access_token,
            "token_type": "bearer",
            "refresh_token": token.refresh_token,
            "expires_in": ttl,
            "scope": "read write trust",
        }

    def issue_sso(self, s: Session, partner_id: str, user_id: str, ttl: int, *, card_id: str | None = None) -> Token:
        """A one-click login for a card holder (26 characters, like the docs' example)."""
        now = self.clock.now()
        token = Token(
            access_token=secrets.token_urlsafe(19)[:26],
            refresh_token=None,
            partner_id=partner_id,
            user_id=user_id,
            card_id=card_id,
            kind="sso",
            expires_at=now + timedelta(seconds=ttl),
            created_at=now,
        )
        s.add(token)
        return token

    # -- resolution ------------------------------------------------------------------------
    def resolve(self, access_token: str) -> Principal | None:
        """The principal behind a live bearer token, or None (unknown or expired)."""
        hit = self._cache.get(access_token)
        mono = time.monotonic()
        if hit is not None and mono - hit[0] < self.CACHE_SECONDS:
            principal = hit[1]
        else:
            principal = self._load(access_token)
            with self._lock:
                if len(self._cache) > 50_000:
                    self._cache.clear()
                self._cache[access_token] = (mono, principal)
        if principal is None or principal.expires_at <= self.clock.now():
            return None
        return principal

    def _load(self, access_token: str) -> Principal | None:
        with self.db.read() as s:
            row = s.exec(
                select(Token, Partner)
                .join(Partner, col(Partner.id) == Token.partner_id)
                .where(Token.access_token == access_token)
            ).first()
        if row is None:
            return None
        token, partner = row
        return Principal(
            kind=token.kind,
            partner_id=token.partner_id,
            user_id=token.user_id,
            client_secret=partner.client_secret,
            encryption=partner.encryption,
            expires_at=token.expires_at,
            card_id=token.card_id,
            profile=profiles.resolve(self.settings, partner.profile),
        )

    def _forget(self, access_token: str) -> None:
        self._cache.pop(access_token, None)

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def invalidate(self) -> None:
        """Resettable: the tokens and partners cached here may be gone after a reset or restore."""
        self.clear_cache()

    # -- control plane ---------------------------------------------------------------------
    def unlock_login(self, username: str) -> dict[str, int]:
        """Clear the lockout of a login in every tenant that has it (a partner's username or a holder's
        mobile): {partnerId: how many were unlocked}, for the partners that had one locked."""
        found: dict[str, int] = {}
        with self.db.write() as s:
            for partner in s.exec(select(Partner).where(Partner.username == username, Partner.locked == True)):  # noqa: E712
                partner.locked, partner.failed_logins, partner.locked_at = False, 0, None
                s.add(partner)
                found[partner.id] = found.get(partner.id, 0) + 1
            for holder in s.exec(select(CardHolder).where(CardHolder.mobile == username, CardHolder.locked == True)):  # noqa: E712
                holder.locked, holder.failed_logins, holder.locked_at = False, 0, None
                s.add(holder)
                found[holder.partner_id] = found.get(holder.partner_id, 0) + 1
        return found

    def unlock(self, partner_id: str, username: str | None = None) -> int:
        """Clear lockouts of a partner login and/or its card holders. Returns how many were unlocked."""
        count = 0
        with self.db.write() as s:
            partner = s.get(Partner, partner_id)
            if partner is None:
                return -1
            if username is None or username == partner.username:
                count += int(partner.locked)
                partner.locked, partner.failed_logins, partner.locked_at = False, 0, None
                s.add(partner)
            query = select(CardHolder).where(CardHolder.partner_id == partner_id, CardHolder.locked == True)  # noqa: E712
            if username is not None:
                query = query.where(CardHolder.mobile == username)
            for holder in s.exec(query):
                holder.locked, holder.failed_logins, holder.locked_at = False, 0, None
                s.add(holder)
                count += 1
        return count
