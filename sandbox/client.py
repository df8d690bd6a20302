"""EnKashClient: what a partner's code does, in one object — token, envelope, errors — for the card, reward,
redemption and coin APIs and for Payouts.

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
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

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


class PayoutCalls:
    """Typed helpers for EnKash's Payouts APIs: the same token and AES envelope as the card calls, `User-Agent` on
    every call (required there), no `partnerId` header (the payout pages name none). Amounts come back as Decimal.
    A failure raises EnKashHTTPError whose `status` is the documented code (409, 412, 422, …) and whose `body` is
    `{"response_code", "response_message"}`; a REJECTED transfer is an answer, not an error: check `payoutStatus`
    and `reasonCode`."""

    if TYPE_CHECKING:  # provided by EnKashClient
        base_url: str
        client_secret: str
        encrypt: bool
        http: httpx.Client

        def access_token(self) -> str: ...

    user_agent = "enkash-sandbox-client"

    def payout_request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict | None = None,
        headers: dict | None = None,
        raw: bool = False,
    ) -> Any:
        """One payout call as a partner makes it; returns the decrypted answer (or `(status, answer)` with raw)."""
        hdrs = {"Authorization": f"Bearer {self.access_token()}", "User-Agent": self.user_agent, **(headers or {})}
        response = _send(self, method, path, body, params, hdrs)
        data = _opened(_exact_json(response.text), self.client_secret)
        if raw:
            return response.status_code, data
        if response.status_code >= 400:
            raise EnKashHTTPError(response.status_code, data)
        # the statement's response_code is the string "0" (as documented), the whitelist's the integer 0
        if isinstance(data, dict) and "response_code" in data and str(data["response_code"]) != "0":
            raise EnKashBusinessError(str(data.get("response_message") or "failure"), data)
        return data

    # -- beneficiaries ----------------------------------------------------------------------------------------
    def create_beneficiary(
        self,
        beneficiary_id: str,
        name: str,
        *,
        account_number: str | None = None,
        ifsc: str | None = None,
        vpa: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        **fields: Any,
    ) -> dict:
        """Create Beneficiary: a bank account (account_number + ifsc) or a UPI VPA. Other documented fields by
        their API names (beneficiaryAddress, beneficiaryCity, beneficiaryState, beneficiaryPincode)."""
        body = _present(
            {
                "beneficiaryId": beneficiary_id,
                "beneficiaryName": name,
                "beneficiaryAccountNumber": account_number,
                "beneficiaryIfsc": ifsc,
                "vpaHandle": vpa,
                "beneficiaryEmail": email,
                "beneficiaryPhone": phone,
                **fields,
            }
        )
        return self.payout_request("POST", "/api/v0/beneficiary-detail", body)

    def search_beneficiaries(self, **filters: Any) -> dict:
        """The sandbox's Search Beneficiary: filters beneficiaryId, beneficiaryName (a part of it), page, size;
        returns `{content, totalElements, page, size}`."""
        return self.payout_request("POST", "/api/v0/beneficiary-detail/search", _present(filters))

    def delete_beneficiary(self, beneficiary_id: str) -> dict:
        return self.payout_request("DELETE", f"/api/v0/beneficiary-detail/{quote(beneficiary_id, safe='')}")

    # -- transfers --------------------------------------------------------------------------------------------
    def transfer(
        self,
        transaction_id: str,
        amount: Amount,
        *,
        beneficiary_id: str | None = None,
        beneficiary: dict | None = None,
        mode: str | None = None,
        remark: str | None = None,
        fund_source_id: str | None = None,
        reference: str | None = None,
        **fields: Any,
    ) -> dict:
        """Create Payout to a registered beneficiary (beneficiary_id) or an inline one (beneficiary: the Create
        Beneficiary fields by their API names). Without `mode` the tenant's default applies (IMPS unless its
        profile says NEFT). Returns `{transactionId, enkashTransactionId, payoutStatus, transferAmount,
        transferMode, reasonCode}`."""
        body = transfer_body(
            transaction_id,
            amount,
            beneficiary_id=beneficiary_id,
            beneficiary=beneficiary,
            mode=mode,
            remark=remark,
            fund_source_id=fund_source_id,
            reference=reference,
            **fields,
        )
        return self.payout_request("POST", "/api/v0/payout-transaction", body)

    def batch_transfer(self, batch_transaction_id: str, transfers: list[dict]) -> dict:
        """Create Batch Payout: each transfer a request body (see `transfer_body`). Returns the accepted items in
        `successfulPayoutTransactionCreateResponses` and the REJECTED ones in
        `failedPayoutTransactionCreateResponses`."""
        return self.payout_request(
            "POST", "/api/v0/payout-transaction/batch", {"batchTransactionId": batch_transaction_id, "transfers": transfers}
        )

    def transfer_status(self, transaction_id: str) -> dict:
        """A transfer's current state by your transactionId (it settles on the sandbox clock)."""
        return self.payout_request("GET", f"/api/v0/payout-transaction/{quote(transaction_id, safe='')}")

    def search_transfers(self, **filters: Any) -> dict:
        """The sandbox's Search Payouts: filters transactionId, batchTransactionId, payoutStatus, fromDate, toDate
        (ISO-8601), page, size; returns `{content, totalElements, page, size}`, newest first."""
        return self.payout_request("POST", "/api/v0/payout-transaction/search", _present(filters))

    # -- the fund source --------------------------------------------------------------------------------------
    def payout_balance(self, fund_source_id: str, debit_account_number: str = "") -> Decimal:
        """Get Balance: the fund source's available balance (`totalBalance`), exact."""
        answer = self.payout_request(
            "GET",
            "/api/v0/payout-account/balance",
            params={"fundSourceId": fund_source_id, "debitAccountNumber": debit_account_number},
        )
        return Decimal(str(answer["totalBalance"]))

    def statement(
        self, fund_source_id: str, from_date: str | datetime, to_date: str | datetime, debit_account_number: str = ""
    ) -> dict:
        """Fetch Bank Statement between two instants (ISO-8601 strings or aware datetimes): the documented envelope
        `{response_code: "0", response_message, requestId, data[]}`, each row with its runningBalance."""
        body = {
            "fundSourceId": fund_source_id,
            "debitAccountNumber": debit_account_number,
            "fromDate": from_date.isoformat() if isinstance(from_date, datetime) else from_date,
            "toDate": to_date.isoformat() if isinstance(to_date, datetime) else to_date,
        }
        return self.payout_request("POST", "/api/v0/payout-account/statement", body)

    def whitelist(self, account_number: str, ifsc: str, company_id: str | None = None) -> dict:
        """Add Source Bank Account ("Add Funds to EnKash"): the account that funds the fund source; it replaces the
        active one. Returns the payload `{accountNumber, ifsc, companyId, status, whitelistedOn}`."""
        body = _present({"accountNumber": account_number, "ifsc": ifsc, "companyId": company_id})
        return self.payout_request("POST", "/api/v0/bankDetail/whitelist", body)["payload"]

    def source_accounts(self) -> dict:
        """The sandbox's Retrieve Bank Account Details: `{active, history}`."""
        return self.payout_request("GET", "/api/v0/bankDetail")["payload"]


def transfer_body(
    transaction_id: str,
    amount: Amount,
    *,
    beneficiary_id: str | None = None,
    beneficiary: dict | None = None,
    mode: str | None = None,
    remark: str | None = None,
    fund_source_id: str | None = None,
    reference: str | None = None,
    **fields: Any,
) -> dict:
    """One Create Payout body (also an item of a batch), with the documented field names."""
    return _present(
        {
            "transactionId": transaction_id,
            "transferAmount": amount,
            "beneficiaryId": beneficiary_id,
            "beneficiaryDetail": beneficiary,
            "transferMode": mode,
            "transferRemark": remark,
            "fundSourceId": fund_source_id,
            "reference": reference,
            **fields,
        }
    )


class EnKashClient(PartnerCalls, PayoutCalls):
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

    @staticmethod
    def token_fields(answer: dict) -> dict:
        """A token answer in snake_case, whichever casing it came in (the profile's tokenCasing: the Spring
        `access_token`… or the V3 payout page's `accessToken`, `tokenType`, `expiresIn`, `refreshToken`)."""
        camel = {
            "accessToken": "access_token",
            "tokenType": "token_type",
            "expiresIn": "expires_in",
            "refreshToken": "refresh_token",
        }
        return {camel.get(key, key): value for key, value in answer.items()}

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
                    self._token = self.token_fields(refreshed.json() if refreshed.status_code == 200 else self.fetch_token())
                else:
                    self._token = self.token_fields(self.fetch_token())
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
        hdrs = {"Authorization": f"Bearer {self.access_token()}", "partnerId": self.partner_id, **(headers or {})}
        response = _send(self, method, path, body, params, hdrs)
        data = _opened(_json(response), self.client_secret)
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
        data = _exact_json(response.text)
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


def _present(fields: dict) -> dict:
    return {k: v for k, v in fields.items() if v is not None}


def _exact_json(text: str) -> Any:
    """JSON with its numbers exact (money as Decimal), or the text itself when it is not JSON."""
    try:
        return json.loads(text, parse_float=Decimal)
    except ValueError:
        return text


def _opened(data: Any, secret: str) -> Any:
    """A sealed answer ({"request": "<base64>"}) decrypted, its money exact; any other answer as it is."""
    if isinstance(data, dict) and set(data) == {"request"} and isinstance(data["request"], str):
        return _exact_json(crypto.decrypt(data["request"], secret).decode("utf-8"))
    return data


def _json(response: httpx.Response) -> Any:
    """The answer's JSON with money exact (Decimal, never through float), or its text when it is not JSON."""
    return _exact_json(response.text)


def _dumps(obj: Any) -> bytes:
    return jsonio.dumps(obj)


def _send(calls: Any, method: str, path: str, body: Any, params: dict | None, headers: dict[str, str]) -> httpx.Response:
    """One HTTP exchange of a card or payout call: the body sealed in the `{"request": …}` envelope when the
    tenant encrypts (the card and payout APIs share the envelope and the key)."""
    content = None
    if body is not None:
        content = _dumps(crypto.encrypt_json(body, calls.client_secret) if calls.encrypt else body)
        headers = {**headers, "Content-Type": "application/json"}
    return calls.http.request(method, f"{calls.base_url}{path}", content=content, params=params, headers=headers)


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
