"""EnKashClient: what a partner's code does, in one object — token, envelope, errors.

Works against the sandbox and against EnKash UAT alike (point base_url and token_url at them).
`response_code`/`code` 1 raises EnKashBusinessError; a 4xx/5xx raises EnKashHTTPError.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx
from enkash_sandbox import crypto, jsonio

# an amount as a caller may give it: exact (Decimal, int, or a decimal string); floats are refused by the API
Amount = Decimal | int | str

CARD = "/api/v0/partner/enKashCard"


class EnKashError(Exception):
    pass


class EnKashHTTPError(EnKashError):
    def __init__(self, status: int, body: Any):
        self.status = status
        self.body = body
        message = (
            body.get("response_message") or body.get("message") or body.get("error_description") or body.get("error")
            if isinstance(body, dict)
            else body
        )
        super().__init__(f"HTTP {status}: {message}")


class EnKashBusinessError(EnKashError):
    def __init__(self, message: str, body: dict):
        self.message = message
        self.body = body
        super().__init__(message)


class PartnerCalls:
    """Typed helpers for the card lifecycle, reward, redemption and coin calls."""

    if TYPE_CHECKING:  # provided by EnKashClient, the one class that mixes these helpers in
        base_url: str
        partner_id: str
        client_id: str
        client_secret: str
        token_url: str
        encrypt: bool

        def request(
            self,
            method: str,
            path: str,
            body: Any = None,
            *,
            params: dict | None = None,
            headers: dict | None = None,
            raw: bool = False,
        ) -> Any: ...

        def payload(self, path: str, body: Any = None, **kw: Any) -> Any: ...

    def otp(self, card_account_id: str, card_id: str, action: str = "TRANSACTION_OTP") -> Any:
        """The payload: the OTP request id (a string, as documented) or, under the profile's otpResponse=object,
        the sandbox's object."""
        return self.payload(f"{CARD}/otp", {"cardAccountId": card_account_id, "enKashCardId": card_id, "cardOtpAction": action})

    def set_pin(self, company_id: str, card_account_id: str, card_id: str, pin: str, **proof: Any) -> str:
        return self.payload(
            f"{CARD}/setPin",
            {
                "companyId": company_id,
                "cardAccountId": card_account_id,
                "enKashCardId": card_id,
                "pinBlock": pin,
                "otpRequired": bool(proof),
                **proof,
            },
        )

    def block(
        self,
        company_id: str,
        card_account_id: str,
        card_id: str,
        block_code: str,
        *,
        otp_medium: str = "MFA",
        **proof: Any,
    ) -> dict:
        return self.payload(
            f"{CARD}/block",
            {
                "companyId": company_id,
                "cardAccountId": card_account_id,
                "enKashCardId": card_id,
                "blockCode": block_code,
                "otpMedium": otp_medium,
                **proof,
            },
        )

    def replace_card(self, card_id: str, *, otp_medium: str = "MFA", **proof: Any) -> Any:
        """The payload: the new card's id (a string, as documented) or, under the profile's
        replaceCardResponse=object, the new card with `oldEnKashCardId`."""
        return self.payload(f"{CARD}/replaceCard", {"enKashCardId": card_id, "otpMedium": otp_medium, **proof})

    def velocity(self, company_id: str, card_account_id: str, card_ids: list[str], **rules: Any) -> dict:
        return self.payload(
            f"{CARD}/velocity/rule",
            {"companyId": company_id, "cardAccountId": card_account_id, "enKashCardIds": card_ids, **rules},
        )

    def allocate_points(
        self, company_id: str, card_account_id: str, amount: Amount, *, reference: str, unallocate: bool = False, **holder: Any
    ) -> dict:
        return self.payload(
            f"{CARD}/create-allocate-points",
            {
                "companyId": company_id,
                "cardAccountId": card_account_id,
                "transactionCode": "ALLOCATION",
                "transactionType": "DR" if unallocate else "CR",
                "type": "UNALLOCATE_POINT" if unallocate else "ALLOCATE_POINT",
                "loadAmount": amount,
                "uniqueReferenceNumber": reference,
                **holder,
            },
        )

    def bulk_allocate(self, company_id: str, card_account_id: str, rows: list[dict], *, points_allocation: bool = True) -> dict:
        return self.payload(
            f"{CARD}/bulk-create-allocate-points-json",
            rows,
            params={
                "companyId": company_id,
                "cardAccountId": card_account_id,
                "isPointsAllocation": str(points_allocation).lower(),
            },
        )

    def sso_token(self, company_id: str, card_account_id: str, card_id: str) -> dict:
        return self.payload(
            f"{CARD}/sso-token", {"companyId": company_id, "cardAccountId": card_account_id, "enkashCardId": card_id}
        )

    def as_user(self, mobile: str, password: str) -> EnKashClient:
        """A client for the redemption APIs, logged in as a card holder (password grant, username = mobile)."""
        return EnKashClient(
            self.base_url,
            self.partner_id,
            self.client_id,
            self.client_secret,
            mobile,
            password,
            token_url=self.token_url,
            encrypt=self.encrypt,
        )

    def cart(self) -> list[dict]:
        return self.request("GET", "/api/v0/cart", params={"product": "VOUCHER"})["payload"]

    def add_to_cart(self, product_catalog_id: str, items: dict[str, int]) -> list[dict]:
        return self.payload(
            "/api/v0/cart",
            {"productCatalogId": product_catalog_id, "items": {k: {"quantity": q, "description": ""} for k, q in items.items()}},
            params={"product": "VOUCHER"},
        )

    def update_cart(self, cart_id: int, items: dict[str, int]) -> list[dict]:
        return self.request(
            "PATCH",
            "/api/v0/cart",
            {"cartId": cart_id, "items": {k: {"quantity": q} for k, q in items.items()}},
            params={"product": "VOUCHER"},
        )["payload"]

    def product_configs(self, product_catalog_id: str) -> dict:
        return self.request("GET", f"/api/v0/partner/search-config/{product_catalog_id}")["payload"]

    def create_order(self, product_catalog_id: str, denomination: Amount, quantity: int, reference: str) -> dict:
        return self.payload(
            "/api/v0/partner/create-order",
            {
                "productCatalogId": product_catalog_id,
                "denomination": denomination,
                "quantity": quantity,
                "orderReferenceId": reference,
            },
        )

    def order_details(self, reference: str) -> dict:
        return self.payload("/api/v0/order/orderDetails", {"orderId": reference})

    def search_orders(self, limit: int = 10, offset: int = 0, **filters: Any) -> dict:
        return self.payload("/api/v0/partner/search-order", filters, params={"limit": limit, "offset": offset})

    def create_coin_event(self, company_id: str, event: str, amount: int, configuration: str = "DEFAULT") -> dict:
        return self.payload(
            "/api/v0/enkash-coins/create-coins-config",
            {"companyId": company_id, "event": event, "amount": amount, "configuration": configuration},
        )

    def allocate_coins(self, company_id: str, event: str, user_id: str, request_id: str) -> str:
        return self.payload(
            "/api/v0/enkash-coins/allocate-coin",
            {"companyId": company_id, "event": event, "userId": user_id, "requestId": request_id},
        )

    def coin_balance(self, user_id: str) -> int:
        return self.request("GET", "/api/v0/coins/balance", params={"userId": user_id})["payload"]


class EnKashClient(PartnerCalls):
    def __init__(
        self,
        base_url: str,
        partner_id: str,
        client_id: str,
        client_secret: str,
        username: str,
        password: str,
        *,
        token_url: str | None = None,
        encrypt: bool = True,
        timeout: float = 30.0,
        http: httpx.Client | None = None,
        admin_token: str | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.partner_id = partner_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.username = username
        self.password = password
        self.token_url = token_url or f"{self.base_url}/oauth/token"
        self.encrypt = encrypt
        # the control plane's token (ENKASH_SANDBOX_ADMIN_TOKEN), for the simulations below
        self.admin_token = admin_token
        self.http = http or httpx.Client(timeout=timeout)
        self._token: dict | None = None
        self._token_expiry = 0.0
        self._lock = threading.Lock()

    @classmethod
    def from_credentials(cls, base_url: str, creds: dict, **kw: Any) -> EnKashClient:
        """Build from the dict POST /_sandbox/partners (or the start banner) gives."""
        return cls(
            base_url, creds["partnerId"], creds["clientId"], creds["clientSecret"], creds["username"], creds["password"], **kw
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> EnKashClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- token -----------------------------------------------------------------------------
    def _basic(self) -> str:
        return "Basic " + base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()

    def fetch_token(self, username: str | None = None, password: str | None = None) -> dict:
        response = self.http.post(
            self.token_url,
            headers={"Authorization": self._basic()},
            data={
                "username": username or self.username,
                "password": password or self.password,
                "grant_type": "password",
                "clientId": self.client_id,
            },
        )
        if response.status_code != 200:
            raise EnKashHTTPError(response.status_code, _json(response))
        return response.json()

    def access_token(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._token_expiry:
                if self._token is not None:
                    refreshed = self.http.post(
                        self.token_url,
                        headers={"Authorization": self._basic()},
                        data={
                            "grant_type": "refresh_token",
                            "refresh_token": self._token["refresh_token"],
                            "clientId": self.client_id,
                        },
                    )
                    self._token = refreshed.json() if refreshed.status_code == 200 else self.fetch_token()
                else:
                    self._token = self.fetch_token()
                # renew a little early so a call never carries a token that expires in flight
                self._token_expiry = time.monotonic() + max(1, int(self._token["expires_in"]) - 30)
            return self._token["access_token"]

    # -- calls -----------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict | None = None,
        headers: dict | None = None,
        raw: bool = False,
    ) -> Any:
        """Send one call the way a partner does and return the decrypted JSON envelope."""
        hdrs = {"Authorization": f"Bearer {self.access_token()}", "partnerId": self.partner_id}
        hdrs.update(headers or {})
        content = None
        if body is not None:
            payload = crypto.encrypt_json(body, self.client_secret) if self.encrypt else body
            content = _dumps(payload)
            hdrs["Content-Type"] = "application/json"
        response = self.http.request(method, f"{self.base_url}{path}", content=content, params=params, headers=hdrs)
        data = _json(response)
        if isinstance(data, dict) and set(data) == {"request"} and isinstance(data["request"], str):
            data = crypto.decrypt_json(data, self.client_secret)
        if raw:
            return response.status_code, data
        if response.status_code >= 400:
            raise EnKashHTTPError(response.status_code, data)
        if isinstance(data, dict) and (data.get("response_code") or data.get("code")):
            raise EnKashBusinessError(data.get("response_message") or data.get("message") or "failure", data)
        return data

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("POST", path, body, **kw)

    def payload(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.post(path, body, **kw)["payload"]

    # -- typed helpers ---------------------------------------------------------------------
    def card_account(self, company_id: str, card_account_id: str) -> dict:
        return self.payload(f"{CARD}/cardAccount/get", {"companyId": company_id, "cardAccountId": card_account_id})

    def create_card(self, **fields: Any) -> dict:
        return self.payload(CARD, fields)

    def load(
        self,
        company_id: str,
        card_account_id: str,
        card_id: str,
        amount: Amount,
        *,
        transaction_type: str = "CR",
        reference: str | None = None,
        **extra: Any,
    ) -> dict:
        body = {
            "companyId": company_id,
            "cardAccountId": card_account_id,
            "enKashCardId": card_id,
            "amount": amount,
            "transactionType": transaction_type,
            **extra,
        }
        if reference:
            body["uniqueReferenceNumber"] = reference
        return self.payload(f"{CARD}/balance", body)

    def search_cards(self, company_id: str, card_account_id: str, card_id: str | None = None) -> dict:
        """Every card of the account as `{recordsCount, data}`; with `card_id`, that card's object, whichever of
        the two documented shapes the sandbox answers (profile searchById: the list holding it, or the card)."""
        body = {"companyId": company_id, "cardAccountId": card_account_id}
        if card_id:
            body["enKashCardId"] = card_id
        found = self.payload(f"{CARD}/search", body)
        if card_id and isinstance(found, dict) and isinstance(found.get("data"), list) and "recordsCount" in found:
            return found["data"][0]
        return found

    def transactions(self, company_id: str, card_account_id: str, **filters: Any) -> dict:
        return self.payload(f"{CARD}/transaction/all", {"companyId": company_id, "cardAccountId": card_account_id, **filters})

    # -- card spending simulations (the sandbox's control plane: EnKash has no partner API for a purchase) -------
    def sandbox_call(self, method: str, path: str, body: Any = None) -> Any:
        """A control-plane call (/_sandbox/...); amounts in the answer are Decimal. Raises EnKashHTTPError on 4xx/5xx."""
        headers = {"Authorization": f"Bearer {self.admin_token}"} if self.admin_token else {}
        content = _dumps(body) if body is not None else None
        if content is not None:
            headers["Content-Type"] = "application/json"
        response = self.http.request(method, f"{self.base_url}/_sandbox{path}", content=content, headers=headers)
        try:
            data = json.loads(response.text, parse_float=Decimal)
        except ValueError:
            data = response.text
        if response.status_code >= 400:
            raise EnKashHTTPError(response.status_code, data)
        return data

    def authorize(self, card_id: str, amount: Amount, *, channel: str = "POS", capture: bool = True, **fields: Any) -> dict:
        """A purchase on the card: {transactionId, status APPROVED|DECLINED, declineReasons, otbBalance, ...}.
        Other fields: currency, international, merchantName, mcc, merchantCountry."""
        body = {"amount": amount, "channel": channel, "capture": capture, **fields}
        return self.sandbox_call("POST", f"/cards/{card_id}/authorize", body)

    def clear(self, transaction_id: str, amount: Amount | None = None, *, final: bool = True) -> dict:
        return self.sandbox_call("POST", f"/transactions/{transaction_id}/clear", _amount(amount, final=final))

    def reverse(self, transaction_id: str, amount: Amount | None = None) -> dict:
        return self.sandbox_call("POST", f"/transactions/{transaction_id}/reverse", _amount(amount))

    def refund(self, transaction_id: str, amount: Amount | None = None) -> dict:
        return self.sandbox_call("POST", f"/transactions/{transaction_id}/refund", _amount(amount))

    def increment(self, transaction_id: str, amount: Amount) -> dict:
        return self.sandbox_call("POST", f"/transactions/{transaction_id}/increment", {"amount": amount})

    def authorization(self, transaction_id: str) -> dict:
        return self.sandbox_call("GET", f"/transactions/{transaction_id}")

    # -- webhooks -------------------------------------------------------------------------------------------
    def register_webhook(
        self,
        url: str,
        events: list[str],
        *,
        headers: dict[str, str] | None = None,
        enabled: bool = True,
        company_id: str | None = None,
        ssl_certificate: str | None = None,
    ) -> dict:
        """EnKash's Webhook Data API (POST /api/v0/webhook-data), as a partner registers; the answer's
        `signingSecret` verifies the sandbox's X-Enkash-Sandbox-Signature header (`verify_signature`)."""
        body: dict[str, Any] = {"webhookUrl": url, "events": events, "headers": headers or {}, "enabled": enabled}
        if company_id:
            body["companyId"] = company_id
        if ssl_certificate:
            body["sslCertificate"] = ssl_certificate
        return self.payload("/api/v0/webhook-data", body)

    def webhook_registrations(self) -> list[dict]:
        return self.request("GET", "/api/v0/webhook-data")["payload"]

    def subscribe_webhook(self, url: str, events: list[str], **options: Any) -> dict:
        """A registration through the control plane (POST /_sandbox/webhooks) for this partner; options: headers,
        enabled, companyId, sign (the signature header, default on), secret, sslCertificate."""
        return self.sandbox_call(
            "POST", "/webhooks", {"partnerId": self.partner_id, "webhookUrl": url, "events": events, **options}
        )

    def webhook_subscriptions(self) -> list[dict]:
        return self.sandbox_call("GET", f"/webhooks?partnerId={self.partner_id}")

    def delete_webhook(self, subscription_id: str) -> dict:
        return self.sandbox_call("DELETE", f"/webhooks/{subscription_id}")

    def webhook_deliveries(self, **filters: Any) -> list[dict]:
        """This partner's deliveries, newest first, each with its attempts; filters: event, status,
        subscriptionId, eventId, limit."""
        query = httpx.QueryParams({"partnerId": self.partner_id, **{k: v for k, v in filters.items() if v is not None}})
        return self.sandbox_call("GET", f"/webhooks/deliveries?{query}")

    def redeliver_webhook(self, delivery_id: int) -> dict:
        return self.sandbox_call("POST", f"/webhooks/deliveries/{delivery_id}/redeliver")

    def fire_webhook(self, event: str, card_id: str | None = None, subscription_id: str | None = None) -> dict:
        """Emit an event now (POST /_sandbox/webhooks/fire); card events need the card."""
        body: dict[str, Any] = {"partnerId": self.partner_id, "event": event}
        if card_id:
            body["enKashCardId"] = card_id
        if subscription_id:
            body["subscriptionId"] = subscription_id
        return self.sandbox_call("POST", "/webhooks/fire", body)


def _amount(amount: Amount | None, **extra: Any) -> dict:
    return {**({"amount": amount} if amount is not None else {}), **extra}


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _dumps(obj: Any) -> bytes:
    return jsonio.dumps(obj)


def verify_signature(body: bytes, header: str, secret: str, tolerance: int = 300, now: float | None = None) -> bool:
    """Check the sandbox's `X-Enkash-Sandbox-Signature: t=<unix>,v1=<hex>` header: v1 must be the HMAC-SHA256
    of `b"<t>." + body` with the subscription's secret (compared in constant time), and t within `tolerance`
    seconds of now (a replayed old delivery fails). `body` is the raw request body, exactly as received."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return False
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    # every candidate is compared (a signer may send several v1 values while rotating secrets)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
