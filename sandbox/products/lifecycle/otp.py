"""OTPs and MFA codes: what stands between a partner and a sensitive card operation.

An OTP is "sent" to the holder's mobile by putting it in the sandbox's inbox (GET /_sandbox/otps).
It is deterministic (ENKASH_SANDBOX_OTP_VALUE), expires by the sandbox clock, is single-use, and dies
after ENKASH_SANDBOX_OTP_MAX_ATTEMPTS wrong tries. An MFA code passes when it equals ENKASH_SANDBOX_MFA_CODE.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

from enkash_sandbox.crypto import same_secret
from enkash_sandbox.errors import BadRequest, BusinessFailure
from enkash_sandbox.products import scope
from enkash_sandbox.products.lifecycle.schemas import OtpProof, OtpRequest
from enkash_sandbox.store.tables import CardHolder, Otp
from enkash_sandbox.timefmt import iso_utc
from sqlmodel import Session, col, select

T = TypeVar("T")

if TYPE_CHECKING:
    from enkash_sandbox.clock import Clock
    from enkash_sandbox.config import Settings
    from enkash_sandbox.store.engine import Database


class WrongOtp(BusinessFailure):
    """A wrong code: the attempt must be counted even though the operation is refused."""

    def __init__(self, otp_id: str, remaining: int):
        self.otp_id = otp_id
        suffix = f"{remaining} attempt(s) left" if remaining > 0 else "the OTP is now invalid; request a new one"
        super().__init__(f"Invalid OTP: {suffix}")


def mask_mobile(mobile: str | None) -> str | None:
    return f"XXXXXX{mobile[-4:]}" if mobile else None


class OtpService:
    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings

    def send(self, partner_id: str, req: OtpRequest) -> dict:
        settings = self.settings
        with self.db.write() as s:
            account = scope.get_account(s, partner_id, req.companyId, req.cardAccountId)
            card = scope.get_card(s, account, req.enKashCardId)
            holder = s.get(CardHolder, card.user_id)
            assert holder is not None  # user_id is a foreign key
            now = self.clock.now()
            otp = Otp(
                id=self.db.new_id(s, "otp"),
                partner_id=partner_id,
                card_id=card.id,
                mobile=holder.mobile,
                action=req.cardOtpAction,
                code=settings.otp_value,
                expires_at=now + timedelta(seconds=settings.otp_ttl_seconds),
                created_at=now,
            )
            s.add(otp)
            return {
                "otpRequestId": otp.id,
                "otpReferenceId": otp.id,
                "enKashCardId": card.id,
                "cardOtpAction": otp.action,
                "mobile": mask_mobile(holder.mobile),
                "expiresInSeconds": settings.otp_ttl_seconds,
            }

    def verify(self, s: Session, partner_id: str, card_id: str, proof: OtpProof, *, medium: str | None) -> None:
        """Check the proof inside the caller's transaction; marks a good OTP used. Raises WrongOtp for a
        wrong code (the caller records the attempt with `count_failure` after its rollback)."""
        medium = medium or proof.otpMedium or "MOBILE"
        if medium == "MFA":
            if not proof.mfaCode:
                raise BadRequest("Mandatory parameter missing: mfaCode (otpMedium is MFA)")
            if not same_secret(proof.mfaCode, self.settings.mfa_code):
                raise BusinessFailure("Invalid MFA code")
            return
        if not proof.request_id or not proof.otp:
            raise BadRequest("Mandatory parameter missing: otpRequestId and otp (otpMedium is MOBILE)")
        otp = s.get(Otp, proof.request_id)
        if otp is None or otp.partner_id != partner_id or otp.card_id != card_id:
            raise BusinessFailure("Invalid OTP request id")
        if otp.used:
            raise BusinessFailure("OTP already used; request a new one")
        if otp.attempts >= self.settings.otp_max_attempts:
            raise BusinessFailure("OTP is invalid after too many wrong attempts; request a new one")
        if otp.expires_at <= self.clock.now():
            raise BusinessFailure("OTP expired; request a new one")
        if not same_secret(proof.otp, otp.code):
            raise WrongOtp(otp.id, self.settings.otp_max_attempts - otp.attempts - 1)
        otp.used = True
        s.add(otp)

    def count_failure(self, otp_id: str) -> None:
        with self.db.write() as s:
            otp = s.get(Otp, otp_id)
            if otp is not None:
                otp.attempts += 1
                s.add(otp)

    def guarded(self, fn: Callable[[], T]) -> T:
        """Run an OTP-protected operation; a wrong code is counted even though the operation rolls back."""
        try:
            return fn()
        except WrongOtp as wrong:
            self.count_failure(wrong.otp_id)
            raise

    def inbox(
        self, *, card_id: str | None = None, mobile: str | None = None, partner_id: str | None = None, limit: int = 100
    ) -> list[dict]:
        now = self.clock.now()
        with self.db.read() as s:
            query = select(Otp)
            if card_id:
                query = query.where(Otp.card_id == card_id)
            if mobile:
                query = query.where(Otp.mobile == mobile)
            if partner_id:
                query = query.where(Otp.partner_id == partner_id)
            rows = s.exec(query.order_by(col(Otp.created_at).desc()).limit(limit)).all()
        max_attempts = self.settings.otp_max_attempts
        return [
            {
                "otpRequestId": o.id,
                "enKashCardId": o.card_id,
                "mobile": o.mobile,
                "otp": o.code,
                "cardOtpAction": o.action,
                "createdAt": iso_utc(o.created_at),
                "expiresAt": iso_utc(o.expires_at),
                "attempts": o.attempts,
                "used": o.used,
                "status": "USED"
                if o.used
                else "LOCKED"
                if o.attempts >= max_attempts
                else "EXPIRED"
                if o.expires_at <= now
                else "ACTIVE",
            }
            for o in rows
        ]
