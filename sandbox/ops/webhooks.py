"""The webhook control actions (`Ops.webhooks`): registrations, the delivery log, redelivery, fire, signing.

The JSON control plane (`/_sandbox/webhooks…`), the dashboard's Webhooks page and the CLI's `listen` all call
these with the same specs, so what one surface accepts the others accept too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from enkash_sandbox.ops.actions import OpsError, Spec
from enkash_sandbox.products.webhooks.schemas import Certificate, CompanyId, EventName, Events, Headers, WebhookUrl
from enkash_sandbox.products.webhooks.service import STATUSES, WebhookControlError
from pydantic import Field

if TYPE_CHECKING:
    from enkash_sandbox.container import Container

PartnerId = Field(min_length=1, max_length=64)


class SubscriptionSpec(Spec):
    """A registration made from the control plane: EnKash's Webhook Data fields (same names and rules as
    `POST /api/v0/webhook-data`), the partner it belongs to, and the sandbox's own signing options."""

    partnerId: str = PartnerId
    webhookUrl: WebhookUrl
    events: Events
    headers: Headers = Field(default_factory=dict)
    enabled: bool = True
    sslCertificate: Certificate | None = None
    companyId: CompanyId | None = None
    sign: bool = Field(default=True, description="send X-Enkash-Sandbox-Signature (the sandbox's own extension)")
    secret: str | None = Field(
        default=None, min_length=16, max_length=200, pattern=r"^[\x21-\x7e]+$", description="signing secret; generated if absent"
    )


class SubscriptionUpdateSpec(Spec):
    enabled: bool | None = None
    sign: bool | None = None


class SigningSpec(Spec):
    partnerId: str = PartnerId
    sign: bool


class FireSpec(Spec):
    partnerId: str = PartnerId
    event: EventName
    enKashCardId: str | None = Field(default=None, min_length=1, max_length=64, description="for card events")
    subscriptionId: str | None = Field(default=None, min_length=1, max_length=64, description="only this registration")


class DeliveryFilter(Spec):
    partnerId: str | None = Field(default=None, min_length=1, max_length=64)
    event: EventName | None = None
    status: Literal[STATUSES] | None = None  # type: ignore[valid-type]
    subscriptionId: str | None = Field(default=None, min_length=1, max_length=64)
    eventId: str | None = Field(default=None, min_length=1, max_length=64)
    limit: int = Field(default=100, ge=1, le=1000)


class WebhookOps:
    def __init__(self, sandbox: Container) -> None:
        self.sandbox = sandbox

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except WebhookControlError as exc:
            raise OpsError(exc.status, exc.message) from None

    def subscribe(self, spec: SubscriptionSpec) -> dict[str, Any]:
        return self._call(
            self.sandbox.webhooks.create,
            spec.partnerId,
            url=spec.webhookUrl,
            events=spec.events,
            headers=spec.headers,
            enabled=spec.enabled,
            ssl_certificate=spec.sslCertificate,
            company_id=spec.companyId,
            sign=spec.sign,
            secret=spec.secret,
        )

    def subscriptions(self, partner_id: str | None = None) -> list[dict[str, Any]]:
        return self.sandbox.webhooks.subscriptions(partner_id or None)

    def subscription(self, subscription_id: str) -> dict[str, Any]:
        return self._call(self.sandbox.webhooks.subscription, subscription_id)

    def update(self, subscription_id: str, spec: SubscriptionUpdateSpec) -> dict[str, Any]:
        return self._call(self.sandbox.webhooks.update, subscription_id, enabled=spec.enabled, sign=spec.sign)

    def unsubscribe(self, subscription_id: str) -> dict[str, Any]:
        return self._call(self.sandbox.webhooks.delete, subscription_id)

    def signing(self, spec: SigningSpec) -> dict[str, Any]:
        return self._call(self.sandbox.webhooks.set_signing, spec.partnerId, spec.sign)

    def deliveries(self, spec: DeliveryFilter) -> list[dict[str, Any]]:
        return self.sandbox.webhooks.deliveries(
            partner_id=spec.partnerId,
            event=spec.event,
            status=spec.status,
            subscription_id=spec.subscriptionId,
            event_id=spec.eventId,
            limit=spec.limit,
        )

    def delivery(self, delivery_id: int) -> dict[str, Any]:
        return self._call(self.sandbox.webhooks.delivery, delivery_id)

    def redeliver(self, delivery_id: int) -> dict[str, Any]:
        result = self._call(self.sandbox.webhooks.redeliver, delivery_id)
        self.sandbox.deliverer.wake()
        return result

    def fire(self, spec: FireSpec) -> dict[str, Any]:
        result = self._call(self.sandbox.webhooks.fire, spec.partnerId, spec.event, spec.enKashCardId, spec.subscriptionId)
        self.sandbox.deliverer.wake()
        return result
