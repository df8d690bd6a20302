"""Control-plane webhooks: registrations for test code, the delivery log with every attempt, redelivery, and
firing an event on demand (Plaid's fire_webhook, Stripe's trigger). Thin: every handler calls `ops.webhooks`."""

from __future__ import annotations

from urllib.parse import parse_qs

from enkash_sandbox import jsonio
from enkash_sandbox.control.common import ops, respond
from enkash_sandbox.control.ui import _act, _back, _form, _page
from enkash_sandbox.ops.actions import OpsError, parse
from enkash_sandbox.ops.webhooks import DeliveryFilter, FireSpec, SigningSpec, SubscriptionSpec, SubscriptionUpdateSpec
from enkash_sandbox.products.webhooks.outbox import EVENTS
from enkash_sandbox.products.webhooks.service import STATUSES
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
# the dashboard's Webhooks page: the same ops calls and specs as the JSON routes above
ui_router = APIRouter(prefix="/ui/webhooks", include_in_schema=False)


@router.post("", status_code=201)
def subscribe(body: SubscriptionSpec, request: Request) -> Response:
    """Register a receiver for a partner (localhost allowed); the answer carries the signing secret."""
    return respond(ops(request).webhooks.subscribe(body), 201)


@router.get("")
def subscriptions(request: Request, partnerId: str | None = None) -> Response:
    return respond(ops(request).webhooks.subscriptions(partnerId))


@router.post("/signing")
def signing(body: SigningSpec, request: Request) -> Response:
    """Switch the X-Enkash-Sandbox-Signature header on or off for every registration of a partner."""
    return respond(ops(request).webhooks.signing(body))


@router.get("/deliveries")
def deliveries(
    request: Request,
    partnerId: str | None = None,
    event: str | None = None,
    status: str | None = None,
    subscriptionId: str | None = None,
    eventId: str | None = None,
    limit: int = 100,
) -> Response:
    """Newest first; each delivery with its attempts (status code, latency, response excerpt, error) and the
    payload exactly as sent."""
    given = {
        "partnerId": partnerId,
        "event": event,
        "status": status,
        "subscriptionId": subscriptionId,
        "eventId": eventId,
        "limit": limit,
    }
    spec = parse(DeliveryFilter, {k: v for k, v in given.items() if v is not None})
    return respond(ops(request).webhooks.deliveries(spec))


@router.get("/deliveries/{delivery_id}")
def delivery(delivery_id: int, request: Request) -> Response:
    return respond(ops(request).webhooks.delivery(delivery_id))


@router.post("/deliveries/{delivery_id}/redeliver")
def redeliver(delivery_id: int, request: Request) -> Response:
    """Send a delivery again now, with a fresh set of attempts."""
    return respond(ops(request).webhooks.redeliver(delivery_id))


@router.post("/fire")
def fire(body: FireSpec, request: Request) -> Response:
    """Emit an event now for the partner's matching registrations (card events need enKashCardId)."""
    return respond(ops(request).webhooks.fire(body))


@router.get("/{subscription_id}")
def subscription(subscription_id: str, request: Request) -> Response:
    return respond(ops(request).webhooks.subscription(subscription_id))


@router.patch("/{subscription_id}")
def update(subscription_id: str, body: SubscriptionUpdateSpec, request: Request) -> Response:
    """Enable or disable a registration, or switch its signature header."""
    return respond(ops(request).webhooks.update(subscription_id, body))


@router.delete("/{subscription_id}")
def unsubscribe(subscription_id: str, request: Request) -> Response:
    """Disable a registration for good; what it still had queued is cancelled, its history kept."""
    return respond(ops(request).webhooks.unsubscribe(subscription_id))


# -- the dashboard page ------------------------------------------------------------------------------------------
@ui_router.get("", response_class=HTMLResponse, response_model=None)
def page(request: Request) -> HTMLResponse | RedirectResponse:
    params = request.query_params
    filters = {k: params.get(k) or None for k in ("partnerId", "event", "status")}
    try:
        spec = parse(DeliveryFilter, {**{k: v for k, v in filters.items() if v}, "limit": 100})
    except OpsError as exc:
        return _back("/webhooks", error=exc.message)
    deliveries = ops(request).webhooks.deliveries(spec)
    for d in deliveries:
        # the payload as sent, amounts exact
        d["payloadText"] = jsonio.dumps(d["payload"]).decode() if d["payload"] is not None else ""
    return _page(
        request,
        "webhooks.html",
        subscriptions=ops(request).webhooks.subscriptions(filters["partnerId"]),
        deliveries=deliveries,
        filters=filters,
        events=EVENTS,
        statuses=STATUSES,
    )


@ui_router.post("/subscribe")
async def page_subscribe(request: Request) -> RedirectResponse:
    form = await _form(request)
    # a multiple select posts `events` once per choice (the form helper keeps only the first)
    events = parse_qs((await request.body()).decode("utf-8", errors="replace")).get("events", [])
    try:
        spec = parse(
            SubscriptionSpec, {"partnerId": form.get("partnerId", ""), "webhookUrl": form.get("webhookUrl", ""), "events": events}
        )
    except OpsError as exc:
        return _back("/webhooks", error=exc.message)
    return await _act("/webhooks", ops(request).webhooks.subscribe, spec, notice="Subscribed {result[id]}")


@ui_router.post("/fire")
async def page_fire(request: Request) -> RedirectResponse:
    form = await _form(request)
    body = {"partnerId": form.get("partnerId", ""), "event": form.get("event", "")}
    if form.get("enKashCardId"):
        body["enKashCardId"] = form["enKashCardId"]
    try:
        spec = parse(FireSpec, body)
    except OpsError as exc:
        return _back("/webhooks", error=exc.message)
    return await _act("/webhooks", ops(request).webhooks.fire, spec, notice="Fired {result[eventType]} {result[eventId]}")


@ui_router.post("/{subscription_id}/toggle")
async def page_toggle(subscription_id: str, request: Request) -> RedirectResponse:
    await _form(request)
    current = await run_in_threadpool(_enabled, request, subscription_id)
    if current is None:
        return _back("/webhooks", error=f"no webhook subscription {subscription_id}")
    spec = SubscriptionUpdateSpec(enabled=not current)
    verb = "Disabled" if current else "Enabled"
    return await _act("/webhooks", ops(request).webhooks.update, subscription_id, spec, notice=f"{verb} {subscription_id}")


def _enabled(request: Request, subscription_id: str) -> bool | None:
    try:
        return bool(ops(request).webhooks.subscription(subscription_id)["enabled"])
    except OpsError:
        return None


@ui_router.post("/{subscription_id}/delete")
async def page_delete(subscription_id: str, request: Request) -> RedirectResponse:
    await _form(request)
    return await _act("/webhooks", ops(request).webhooks.unsubscribe, subscription_id, notice=f"Deleted {subscription_id}")


@ui_router.post("/deliveries/{delivery_id}/redeliver")
async def page_redeliver(delivery_id: int, request: Request) -> RedirectResponse:
    await _form(request)
    return await _act("/webhooks", ops(request).webhooks.redeliver, delivery_id, notice=f"Redelivering #{delivery_id}")
