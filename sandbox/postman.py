"""A Postman v2.1 collection of every EnKash operation in the contract, and an environment for one tenant.

`enkash-sandbox postman --out DIR` writes both. The collection is built from the OpenAPI document a running
sandbox serves (/openapi.json), so it always matches that sandbox's version. Each request's body is made from
its schema: the required fields, plus the well-known ids, which point at environment variables
(`{{companyId}}`, `{{cardAccountId}}`, `{{enKashCardId}}`, ...) so the requests work against the tenant
the environment names. The collection's scripts do what a partner's client does:

- pre-request: fetch an access token with the password grant when there is none (or it expired), and encrypt
  a JSON body as EnKash's envelope, AES-128-ECB with PKCS#7 and key = the first 16 bytes of
  SHA-256(clientSecret), Base64, `{"request": "..."}` (as `enkash_sandbox.crypto` does), unless the
  environment's `encryption` is `off`;
- test: open an encrypted answer, check the HTTP status and `response_code`/`code` (0), keep the ids an
  answer carries (a new card's `enKashCardId`, an order's id, an SSO token) for the requests after it, and
  print the sandbox's X-Sandbox-Explain when something failed.

The Python side only writes JSON; the scripts run in Postman or newman.
"""

from __future__ import annotations

import json
from typing import Any

SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"

# request fields that name something the tenant owns: environment variables, set by the environment or by an
# earlier answer (the test script keeps ids it sees)
KNOWN_FIELDS: dict[str, Any] = {
    "companyId": "{{companyId}}",
    "cardAccountId": "{{cardAccountId}}",
    "enKashCardId": "{{enKashCardId}}",
    "enkashCardId": "{{enKashCardId}}",
    "enKashCardIds": ["{{enKashCardId}}"],
    "userId": "{{userId}}",
    "mobile": "{{freshMobile}}",
    "email": "postman@example.com",
    "firstName": "Postman",
    "lastName": "Partner",
    "uniqueReferenceNumber": "{{reference}}",
    "orderReferenceId": "{{reference}}",
    "requestId": "{{reference}}",
    "orderId": "{{orderId}}",
    "coinConfigId": "{{coinConfigId}}",
    "productCatalogId": "{{productCatalogId}}",
    "items": {"{{productConfigId}}": {"quantity": 1}},
    "denomination": "{{denomination}}",
    "quantity": 1,
    "cartId": "{{cartId}}",
    "cardAccountType": "RELOADABLE_GPR",
    "transactionType": "CR",
    "pinBlock": "1234",
    "otp": "{{otpValue}}",
    # the authenticator route: the sandbox's MFA code passes without an SMS OTP round trip
    "otpMedium": "MFA",
    "mfaCode": "{{mfaCode}}",
    "webhookUrl": "http://127.0.0.1:9/enkash-webhooks",
    # payouts: the beneficiary the folder creates (a fresh id, set by the pre-request script) is paid from the
    # tenant's fund source; transactionId and batchTransactionId are fresh per request
    "beneficiaryId": "{{beneficiaryId}}",
    "beneficiaryName": "Postman Partner",
    "beneficiaryAccountNumber": "50100012345678",
    "beneficiaryIfsc": "HDFC0001234",
    "transactionId": "{{reference}}",
    "batchTransactionId": "{{reference}}",
    "transferAmount": 500,
    "transferMode": "IMPS",
    "fundSourceId": "{{fundSourceId}}",
    "debitAccountNumber": "{{debitAccountNumber}}",
    "accountNumber": "{{sourceAccountNumber}}",
    "ifsc": "HDFC0001234",
    "fromDate": "2000-01-01T00:00:00+05:30",
    "toDate": "2099-12-31T23:59:59+05:30",
}
# optional fields worth sending anyway: they tie the request to the tenant's own account, card and holder
OPTIONAL_FIELDS = {
    "companyId",
    "cardAccountId",
    "enKashCardId",
    "email",
    "firstName",
    "uniqueReferenceNumber",
    "mfaCode",
    # a bank beneficiary, paid by IMPS from the tenant's fund source
    "beneficiaryId",
    "beneficiaryAccountNumber",
    "beneficiaryIfsc",
    "transferMode",
    "fundSourceId",
}
# variables that stand for numbers: unquoted in the JSON body, so `{{denomination}}` becomes 100, not "100"
NUMERIC_VARIABLES = ("denomination", "cartId")
# operations that retire the card the requests share (a blocked or replaced card refuses loads and orders): in
# a folder of their own at the end of the collection
LAST = {"blockCard", "replaceCard"}
LAST_FOLDER = "card-lifecycle: block and replace (run last: they retire the card)"
# path and query parameters: the same variables
KNOWN_PARAMS: dict[str, str] = {
    **KNOWN_FIELDS,
    "token": "{{ssoToken}}",
    "partner": "{{partnerId}}",
    "id": "{{orderId}}",
    "limit": "10",
    "offset": "0",
    "product": "VOUCHER",
    "isPointsAllocation": "true",
    # the transfer the folder made (kept by the test script), not a fresh reference
    "transactionId": "{{transactionId}}",
}
AMOUNT_FIELDS = {"amount", "loadAmount", "points", "coins"}

PRE_REQUEST = r"""
// EnKash Sandbox collection: token and AES envelope (enkash-sandbox postman)
const CryptoJS = require("crypto-js");
const v = (name) => pm.variables.get(name);
function envelopeKey() {
  // key = the first 16 bytes of SHA-256(clientSecret), as the sandbox and EnKash derive it
  const hash = CryptoJS.SHA256(v("clientSecret"));
  return CryptoJS.lib.WordArray.create(hash.words.slice(0, 4), 16);
}
pm.variables.set("reference", "PM-" + Date.now() + "-" + Math.floor(Math.random() * 1e6));
pm.variables.set("freshMobile", "9" + String(Math.floor(Math.random() * 1e9)).padStart(9, "0"));
const path = "/" + pm.request.url.path.join("/");
if (path === "/api/v0/beneficiary-detail" && pm.request.method === "POST") {
  // beneficiary ids are alphanumeric: a fresh one per run, paid and deleted by the payout requests after it
  pm.environment.set("beneficiaryId", "PMB" + Date.now() + String(Math.floor(Math.random() * 1e6)).padStart(6, "0"));
}
if (path.startsWith("/api/")) {
  const bearer = (token) => pm.request.headers.upsert({ key: "Authorization", value: "Bearer " + token });
  const token = pm.environment.get("accessToken");
  if (token && Number(pm.environment.get("accessTokenExpiresAt") || 0) > Date.now() + 5000) {
    bearer(token);
  } else {
    const basic = CryptoJS.enc.Base64.stringify(CryptoJS.enc.Utf8.parse(v("clientId") + ":" + v("clientSecret")));
    pm.sendRequest({
      url: v("baseUrl") + "/oauth/token",
      method: "POST",
      header: { Authorization: "Basic " + basic },
      body: {
        mode: "urlencoded",
        urlencoded: [
          { key: "grant_type", value: "password" },
          { key: "username", value: v("username") },
          { key: "password", value: v("password") },
          { key: "clientId", value: v("clientId") },
        ],
      },
    }, (err, res) => {
      if (err || res.code !== 200) {
        console.error("token request failed", err || res.code, res && res.headers.get("X-Sandbox-Explain"));
        return;
      }
      // snake_case, or the V3 payout page's camelCase (the tenant's tokenCasing)
      const answer = res.json();
      const token = answer.access_token || answer.accessToken;
      const expiresIn = answer.expires_in !== undefined ? answer.expires_in : answer.expiresIn;
      pm.environment.set("accessToken", token);
      pm.environment.set("accessTokenExpiresAt", String(Date.now() + expiresIn * 1000));
      bearer(token);
    });
  }
  const body = pm.request.body;
  if (v("encryption") !== "off" && body && body.mode === "raw" && body.raw && body.raw.trim()) {
    const plain = pm.variables.replaceIn(body.raw);
    const sealed = CryptoJS.AES.encrypt(CryptoJS.enc.Utf8.parse(plain), envelopeKey(), {
      mode: CryptoJS.mode.ECB,
      padding: CryptoJS.pad.Pkcs7,
    }).toString();
    body.update({ mode: "raw", raw: JSON.stringify({ request: sealed }), options: { raw: { language: "json" } } });
  }
}
""".strip()

TEST = r"""
// EnKash Sandbox collection: open the envelope, check the answer, keep the ids it carries
const CryptoJS = require("crypto-js");
const explain = pm.response.headers.get("X-Sandbox-Explain") || "";
let answer = null;
pm.test("the answer is readable", function () {
  const type = pm.response.headers.get("Content-Type") || "";
  const text = pm.response.text();
  if (!type.includes("json") || !text) return;
  answer = JSON.parse(text);
  if (answer && typeof answer.request === "string" && Object.keys(answer).length === 1) {
    const hash = CryptoJS.SHA256(pm.variables.get("clientSecret"));
    const key = CryptoJS.lib.WordArray.create(hash.words.slice(0, 4), 16);
    const cipher = CryptoJS.lib.CipherParams.create({ ciphertext: CryptoJS.enc.Base64.parse(answer.request) });
    const plain = CryptoJS.AES.decrypt(cipher, key, { mode: CryptoJS.mode.ECB, padding: CryptoJS.pad.Pkcs7 });
    answer = JSON.parse(plain.toString(CryptoJS.enc.Utf8));
    console.log("decrypted answer", JSON.stringify(answer));
  }
});
pm.test("response_code is 0", function () {
  pm.expect(pm.response.code, explain || pm.response.text()).to.be.below(300);
  if (answer && typeof answer === "object" && !Array.isArray(answer)) {
    const code = "response_code" in answer ? answer.response_code : answer.code;
    // the payout statement's response_code is the string "0" (as documented); everywhere else the number 0
    if (code !== undefined) pm.expect(String(code), explain || JSON.stringify(answer)).to.eql("0");
  }
});
if (answer && typeof answer.payoutStatus === "string") {
  pm.test("the transfer is not REJECTED", function () {
    pm.expect(answer.payoutStatus, "reasonCode " + answer.reasonCode + " " + explain).to.not.eql("REJECTED");
  });
}
if (answer && (answer.access_token || answer.accessToken)) {
  const expiresIn = answer.expires_in !== undefined ? answer.expires_in : answer.expiresIn;
  pm.environment.set("accessToken", answer.access_token || answer.accessToken);
  pm.environment.set("accessTokenExpiresAt", String(Date.now() + expiresIn * 1000));
}
// payout answers are bare objects: the transfer a later status request reads
if (answer && typeof answer.transactionId === "string" && pm.request.url.path.join("/").endsWith("payout-transaction")) {
  pm.environment.set("transactionId", answer.transactionId);
}
const payload = answer && typeof answer.payload === "object" && answer.payload !== null ? answer.payload : null;
if (payload && !Array.isArray(payload)) {
  for (const field of ["enKashCardId", "userId", "orderId", "coinConfigId"]) {
    if (typeof payload[field] === "string" && payload[field]) pm.environment.set(field, payload[field]);
  }
  if (typeof payload.token === "string" && pm.request.url.path.join("/").endsWith("sso-token")) {
    pm.environment.set("ssoToken", payload.token);
  }
}
// a cart answer is a list of carts: the first one's id for the cart update
if (Array.isArray(answer && answer.payload) && answer.payload.length && pm.request.url.path.join("/").endsWith("cart")) {
  if (answer.payload[0].id !== undefined) pm.environment.set("cartId", String(answer.payload[0].id));
}
if (explain) console.warn("X-Sandbox-Explain: " + explain);
""".strip()


def _resolve(spec: dict, node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def example(spec: dict, schema: Any, name: str | None = None, depth: int = 0) -> Any:
    """A value for `schema`: a known field's variable, else the schema's own example, enum or a plain value of
    its type; objects get their required properties and the known ones."""
    if name in KNOWN_FIELDS:
        return KNOWN_FIELDS[name]
    if name in AMOUNT_FIELDS:
        return 500  # enough for the catalog's first voucher, bought from the card later in the run
    schema = _resolve(spec, schema) or {}
    for combinator in ("allOf", "oneOf", "anyOf"):
        if combinator in schema and depth < 6:
            # the schema's own properties (an object with an anyOf of required lists), then its parts'
            merged: dict = {"properties": dict(schema.get("properties", {})), "required": list(schema.get("required", []))}
            if "type" in schema:
                merged["type"] = schema["type"]
            for part in schema[combinator][: None if combinator == "allOf" else 1]:
                part = _resolve(spec, part)
                merged["properties"].update(part.get("properties", {}))
                merged["required"].extend(part.get("required", []))
                merged.setdefault("type", part.get("type"))
                if "enum" in part:
                    merged.setdefault("enum", part["enum"])
            return example(spec, merged, name, depth + 1)
    if "example" in schema:
        return schema["example"]
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):  # a nullable field (or a string Jackson also reads from a number): its first type
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or "properties" in schema:
        if depth > 5:
            return {}
        props = schema.get("properties", {})
        wanted = [p for p in props if p in schema.get("required", []) or p in OPTIONAL_FIELDS]
        if "enkashCardId" in wanted and "enKashCardId" in wanted:
            wanted.remove("enkashCardId")  # the two spellings of one field: one is enough
        return {p: example(spec, props[p], p, depth + 1) for p in wanted}
    if kind == "array":
        return [example(spec, schema.get("items", {}), None, depth + 1)] if depth < 5 else []
    if kind in ("integer", "number"):
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return False
    return "sandbox"


def _param_value(spec: dict, param: dict) -> str:
    if param["name"] in KNOWN_PARAMS:
        return KNOWN_PARAMS[param["name"]]
    value = example(spec, param.get("schema", {}), None)
    return str(value).lower() if isinstance(value, bool) else str(value)


def _item(spec: dict, method: str, path: str, op: dict, shared: list) -> dict:
    # parameters declared on the path item apply to each of its operations
    params = [_resolve(spec, p) for p in [*shared, *op.get("parameters", [])]]
    headers = [
        {"key": "partnerId", "value": "{{partnerId}}"} for p in params if p.get("in") == "header" and p["name"] == "partnerId"
    ]
    query = [{"key": p["name"], "value": _param_value(spec, p)} for p in params if p.get("in") == "query" and p.get("required")]
    segments = []
    for segment in path.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("}"):
            segment = KNOWN_PARAMS.get(segment[1:-1], "{{" + segment[1:-1] + "}}")
        segments.append(segment)
    raw_query = ("?" + "&".join(f"{q['key']}={q['value']}" for q in query)) if query else ""
    request: dict[str, Any] = {
        "method": method,
        "header": headers,
        "url": {"raw": "{{baseUrl}}/" + "/".join(segments) + raw_query, "host": ["{{baseUrl}}"], "path": segments},
        "description": op.get("summary", ""),
    }
    if query:
        request["url"]["query"] = query
    content = _resolve(spec, op.get("requestBody", {})).get("content", {})
    if "application/json" in content:
        body = example(spec, content["application/json"].get("schema", {}))
        request["header"].append({"key": "Content-Type", "value": "application/json"})
        raw = json.dumps(body, indent=2)
        for name in NUMERIC_VARIABLES:
            raw = raw.replace(f'"{{{{{name}}}}}"', f"{{{{{name}}}}}")
        request["body"] = {"mode": "raw", "raw": raw, "options": {"raw": {"language": "json"}}}
    elif "application/x-www-form-urlencoded" in content:
        schema = _resolve(spec, content["application/x-www-form-urlencoded"].get("schema", {}))
        form = _form(schema) if path == "/oauth/token" else example(spec, schema)
        request["body"] = {"mode": "urlencoded", "urlencoded": [{"key": k, "value": str(v)} for k, v in form.items()]}
    if path == "/oauth/token":
        request["auth"] = {
            "type": "basic",
            "basic": [{"key": "username", "value": "{{clientId}}"}, {"key": "password", "value": "{{clientSecret}}"}],
        }
    return {"name": op.get("summary") or f"{method} {path}", "request": request, "_last": op.get("operationId") in LAST}


def _form(_schema: dict) -> dict[str, str]:
    return {"grant_type": "password", "username": "{{username}}", "password": "{{password}}", "clientId": "{{clientId}}"}


def _scoped(script: str) -> list[str]:
    """Postman runs every script of a run in one context: a top-level `const` would be declared twice."""
    return ["(function () {", *script.splitlines(), "})();"]


def collection(spec: dict, name: str = "EnKash partner APIs (sandbox)") -> dict:
    """Every operation of `spec`, in the contract's order, in one folder per first tag."""
    folders: dict[str, list[dict]] = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            tag = (op.get("tags") or ["other"])[0]
            folders.setdefault(tag, []).append(_item(spec, method.upper(), path, op, item.get("parameters", [])))
    last = [i for items in folders.values() for i in items if i["_last"]]
    folders = {tag: [i for i in items if not i["_last"]] for tag, items in folders.items()}
    folders[LAST_FOLDER] = last
    for item in (i for items in folders.values() for i in items):
        del item["_last"]
    return {
        "info": {
            "name": name,
            "schema": SCHEMA,
            "description": "Generated by `enkash-sandbox postman` from the sandbox's /openapi.json. The collection's "
            "scripts fetch the token and encrypt bodies (AES-128-ECB, key = SHA-256(clientSecret)[:16]); "
            "set the environment's `encryption` to `off` for a tenant without encryption.",
        },
        "item": [{"name": tag, "item": items} for tag, items in folders.items()],
        "event": [
            {"listen": "prerequest", "script": {"type": "text/javascript", "exec": _scoped(PRE_REQUEST)}},
            {"listen": "test", "script": {"type": "text/javascript", "exec": _scoped(TEST)}},
        ],
    }


def environment(base_url: str, creds: dict, catalog: list | None = None, name: str = "EnKash Sandbox") -> dict:
    """The variables the collection reads, for one tenant of a running sandbox (its credentials as
    POST /_sandbox/partners or GET /_sandbox/demo answer them, its payout fund source included) and the sandbox's
    catalog (GET /_sandbox/catalog: its first voucher is the one the redemption requests buy)."""
    accounts = creds.get("cardAccounts", {})
    holders = creds.get("holders") or []
    product = (catalog or [{}])[0]
    denomination = (product.get("denominations") or [{}])[0]
    values = {
        "baseUrl": base_url.rstrip("/"),
        "partnerId": creds["partnerId"],
        "clientId": creds["clientId"],
        "clientSecret": creds["clientSecret"],
        "username": creds["username"],
        "password": creds["password"],
        "companyId": creds["companyId"],
        "encryption": creds.get("encryption", "required"),
        # the reloadable account: cards are created and loaded there (a gift account refuses loads)
        "cardAccountId": accounts.get("RELOADABLE_GPR") or next(iter(accounts.values()), ""),
        "rewardsAccountId": accounts.get("EMPLOYEE_REWARDS", ""),
        "userId": holders[0]["userId"] if holders else "",
        "enKashCardId": "",
        "orderId": "",
        "cartId": "0",
        "coinConfigId": "",
        "ssoToken": "",
        "productCatalogId": product.get("productCatalogId", ""),
        "productConfigId": denomination.get("productConfigId", ""),
        "denomination": denomination.get("mrp", 100),
        "otpValue": "123456",
        "mfaCode": "123456",
        "accessToken": "",
        "accessTokenExpiresAt": "0",
        # payouts: the tenant's fund source, the source account the whitelist request names, and the ids the
        # payout requests pass on (a fresh beneficiary per run; the transfer the status request reads)
        "fundSourceId": creds.get("payoutFundSourceId") or "",
        "debitAccountNumber": "",
        "sourceAccountNumber": "123456789012",
        "beneficiaryId": "",
        "transactionId": "",
    }
    secret = {"clientSecret", "password", "accessToken"}
    return {
        "name": name,
        "values": [
            {"key": k, "value": str(v), "type": "secret" if k in secret else "default", "enabled": True}
            for k, v in values.items()
        ],
        "_postman_variable_scope": "environment",
    }
