"""The start banner: where the sandbox listens and how to call it with the demo credentials."""

from __future__ import annotations


def render(base_url: str, creds: dict | None, db_target: str, *, profile: dict | None = None) -> str:
    lines = [
        f"EnKash Sandbox listening on {base_url}",
        f"  dashboard: {base_url}/_sandbox/ui",
        f"  API docs:  {base_url}/docs  (the EnKash contract, with Try it out)",
        f"  store: {db_target}",
        "",
    ]
    if profile:
        # the fidelity profile (docs/FIDELITY.md): the token lifetime first, the choice partners trip on most
        ttl = profile.get("tokenTtlSeconds")
        note = "the docs' example" if ttl == 86399 else ("the docs' 5 minutes" if ttl == 300 else "set")
        lines.append(f"Fidelity profile{' (demo tenant)' if creds else ' (defaults)'}: tokenTtlSeconds {ttl} ({note})")
        rest = [f"{k}={v}" for k, v in profile.items() if k != "tokenTtlSeconds"]
        lines += [f"  {'  '.join(rest[i : i + 4])}" for i in range(0, len(rest), 4)]
        lines.append("  change: enkash-sandbox profile PARTNER --set key=value")
        lines.append("")
    if not creds:
        lines.append("  (demo tenant not seeded: provision one with POST /_sandbox/partners)")
        return "\n".join(lines)
    accounts = creds.get("cardAccounts", {})
    lines += [
        "Demo partner credentials",
        f"  partnerId     {creds['partnerId']}",
        f"  clientId      {creds['clientId']}",
        f"  clientSecret  {creds['clientSecret']}",
        f"  username      {creds['username']}",
        f"  password      {creds['password']}",
        f"  companyId     {creds['companyId']}  ({creds.get('companyName', '')})",
        f"  encryption    {creds.get('encryption', 'required')}",
        "  card accounts",
    ]
    lines += [f"    {kind:<18}{account}" for kind, account in accounts.items()]
    if creds.get("payoutFundSourceId"):
        # the payout APIs' fundSourceId (GET /api/v0/payout-account/balance?fundSourceId=…)
        lines.append(f"  payout fund source  {creds['payoutFundSourceId']}  (beneficiaries BENBANK001, BENUPI001)")
    holders = creds.get("holders") or []
    if holders:
        lines.append("  card holders (password grant: username = mobile)")
        lines += [f"    {h['mobile']}  {h['password']}  {h['userId']}  {h['name']}" for h in holders]
    account = accounts.get("EMPLOYEE_REWARDS") or next(iter(accounts.values()), "")
    secret = creds["clientSecret"]
    lines += [
        "",
        "Try it (token -> encrypted call -> decrypted response):",
        f"  TOKEN=$(curl -s -u '{creds['clientId']}:{secret}' \\",
        f"    -d 'grant_type=password&username={creds['username']}&password={creds['password']}"
        f"&clientId={creds['clientId']}' {base_url}/oauth/token | python3 -c 'import sys,json;"
        'print(json.load(sys.stdin)["access_token"])\')',
        f"  BODY=$(enkash-sandbox encrypt --secret {secret} "
        f'\'{{"companyId":"{creds["companyId"]}","cardAccountId":"{account}"}}\')',
        f'  curl -s {base_url}/api/v0/partner/enKashCard/cardAccount/get -H "Authorization: Bearer $TOKEN" \\',
        f"    -H 'partnerId: {creds['partnerId']}' -H 'Content-Type: application/json' -d \"$BODY\" \\",
        f"    | enkash-sandbox decrypt --secret {secret} -",
        "",
        f"Control plane: {base_url}/_sandbox/health  {base_url}/_sandbox/openapi.json",
    ]
    return "\n".join(lines)
