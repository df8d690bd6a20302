"""EnKash's Webhook Data API: register where (and with which static headers) events are delivered, and list the
registrations. Envelope B ({response_code, response_message, payload}) as documented; partner token, no
partnerId header (none is documented for it)."""

from __future__ import annotations

from typing import Annotated

from enkash_sandbox.envelopes import B
from enkash_sandbox.products.deps import PartnerTokenDep, WorkDep, body, ok, service
from enkash_sandbox.products.webhooks.schemas import WebhookData
from enkash_sandbox.products.webhooks.service import WebhookService
from fastapi import APIRouter, Depends, Request, Response

router = APIRouter()

Webhooks = Annotated[WebhookService, Depends(service("webhooks"))]


@router.post("/api/v0/webhook-data")
async def create_webhook_data(
    request: Request,
    p: PartnerTokenDep,
    work: WorkDep,
    webhooks: Webhooks,
    req: Annotated[WebhookData, Depends(body(WebhookData))],
) -> Response:
    return ok(request, await work.write(webhooks.register, p.partner_id, req), B)


@router.get("/api/v0/webhook-data")
async def list_webhook_data(request: Request, p: PartnerTokenDep, work: WorkDep, webhooks: Webhooks) -> Response:
    return ok(request, await work.read(webhooks.registrations, p.partner_id), B)
