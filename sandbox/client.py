"""EnKashClient: what a partner's code does, in one object — token, envelope, errors.

Works against the sandbox and against EnKash UAT alike (point base_url and token_url at them).
`response_code`/`code` 1 raises EnKashBusinessError; a 4xx/5xx raises EnKashHTTPError.
"""

from __future__ import annotations

import base64
import threading
import time
from typing import Any

import httpx

from sandbox import crypto, jsonio

CARD = "/api/v0/partner/enKashCard"


class EnKashError(Exception):
    pass


class EnKashHTTPError(EnKashError):
    def __init__(self, status: int, body: Any):
        self.status = status
        self.body = body
        message = body.get("response_message") or body.get("message") or body.get("error_description") \
            if isinstance(body, dict) else body
        super().__init__(f"HTTP {status}: {message}")


class EnKashBusinessError(EnKashError):
    def __init__(self, message: str, body: dict):
        self.message = message
        self.body = body
        super().__init__(message)


class EnKashClient:
    def __init__(self, base_url: str, partner_id: str, client_id: str, client_secret: str, username: str,
                 password: str, *, token_url: str | None = None, encrypt: bool = True, timeout: float = 30.0,
                 http: httpx.Client | None = None):
        self.base_url = base_url.rstrip("/")
        self.partner_id = partner_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.username = username
        self.password = password
        self.token_url = token_url or f"{self.base_url}/oauth/token"
        self.encrypt = encrypt
        self.http = http or httpx.Client(timeout=timeout)
        self._token: dict | None = None
        self._token_expiry = 0.0
        self._lock = threading.Lock()

    @classmethod
    def from_credentials(cls, base_url: str, creds: dict, **kw) -> EnKashClient:
        """Build from the dict POST /_sandbox/partners (or the start banner) gives."""
        return cls(base_url, creds["partnerId"], creds["clientId"], creds["clientSecret"], creds["username"],
                   creds["password"], **kw)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> EnKashClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- token -----------------------------------------------------------------------------
    def _basic(self) -> str:
        return "Basic " + base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()

    def fetch_token(self, username: str | None = None, password: str | None = None) -> dict:
        response = self.http.post(self.token_url, headers={"Authorization": self._basic()}, data={
            "username": username or self.username, "password": password or self.password,
            "grant_type": "password", "clientId": self.client_id})
        if response.status_code != 200:
            raise EnKashHTTPError(response.status_code, _json(response))
        return response.json()

    def access_token(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._token_expiry:
                if self._token is not None:
                    refreshed = self.http.post(self.token_url, headers={"Authorization": self._basic()}, data={
                        "grant_type": "refresh_token", "refresh_token": self._token["refresh_token"],
                        "clientId": self.client_id})
                    self._token = refreshed.json() if refreshed.status_code == 200 else self.fetch_token()
                else:
                    self._token = self.fetch_token()
                # renew a little early so a call never carries a token that expires in flight
                self._token_expiry = time.monotonic() + max(1, int(self._token["expires_in"]) - 30)
            return self._token["access_token"]

    # -- calls -----------------------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None, *, params: dict | None = None,
                headers: dict | None = None, raw: bool = False) -> Any:
        """Send one call the way a partner does and return the decrypted JSON envelope."""
        hdrs = {"Authorization": f"Bearer {self.access_token()}", "partnerId": self.partner_id}
        hdrs.update(headers or {})
        content = None
        if body is not None:
            payload = crypto.encrypt_json(body, self.client_secret) if self.encrypt else body
            content = _dumps(payload)
            hdrs["Content-Type"] = "application/json"
        response = self.http.request(method, f"{self.base_url}{path}", content=content, params=params,
                                     headers=hdrs)
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

    def post(self, path: str, body: Any = None, **kw) -> Any:
        return self.request("POST", path, body, **kw)

    def payload(self, path: str, body: Any = None, **kw) -> Any:
        return self.post(path, body, **kw)["payload"]

    # -- typed helpers ---------------------------------------------------------------------
    def card_account(self, company_id: str, card_account_id: str) -> dict:
        return self.payload(f"{CARD}/cardAccount/get", {"companyId": company_id, "cardAccountId": card_account_id})

    def create_card(self, **fields) -> dict:
        return self.payload(CARD, fields)

    def load(self, company_id: str, card_account_id: str, card_id: str, amount, *, transaction_type: str = "CR",
             reference: str | None = None, **extra) -> dict:
        body = {"companyId": company_id, "cardAccountId": card_account_id, "enKashCardId": card_id,
                "amount": amount, "transactionType": transaction_type, **extra}
        if reference:
            body["uniqueReferenceNumber"] = reference
        return self.payload(f"{CARD}/balance", body)

    def search_cards(self, company_id: str, card_account_id: str, card_id: str | None = None) -> dict:
        body = {"companyId": company_id, "cardAccountId": card_account_id}
        if card_id:
            body["enKashCardId"] = card_id
        return self.payload(f"{CARD}/search", body)

    def transactions(self, company_id: str, card_account_id: str, **filters) -> dict:
        return self.payload(f"{CARD}/transaction/all",
                            {"companyId": company_id, "cardAccountId": card_account_id, **filters})


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _dumps(obj: Any) -> bytes:
    return jsonio.dumps(obj)
