import os

import httpx
from enkash_sandbox.client import EnKashClient

URL = os.environ.get("ENKASH_SANDBOX_URL", "http://127.0.0.1:8080")
creds = httpx.post(f"{URL}/_sandbox/partners").json()  # a fresh tenant with a funded payout fund source
fund_source = creds["payoutFundSourceId"]
with EnKashClient.from_credentials(URL, creds) as enkash:
    enkash.create_beneficiary("VENDOR42", "Asha Verma", account_number="50100012345678", ifsc="HDFC0001234")
    sent = enkash.transfer("INV-2026-001", "2500.00", beneficiary_id="VENDOR42", mode="IMPS")
    print(sent["payoutStatus"])  # PROCESSING (the money has left the fund source)
    httpx.post(f"{URL}/_sandbox/clock", json={"action": "advance", "seconds": 10})  # IMPS settles in seconds
    print(enkash.transfer_status("INV-2026-001")["payoutStatus"])  # SUCCESS
    failed = enkash.transfer("INV-2026-002", 100, beneficiary_id="VENDOR42", remark="FAIL")  # magic: bank declines
    httpx.post(f"{URL}/_sandbox/clock", json={"action": "advance", "seconds": 10})
    print(enkash.transfer_status("INV-2026-002")["reasonCode"])  # BENEFICIARY_BANK_DECLINED, money refunded
    print(enkash.payout_balance(fund_source))  # 997500 (exact Decimal: ₹10,00,000 − 2,500; the failed 100 came back)
    rows = enkash.statement(fund_source, "2000-01-01T00:00:00Z", "2099-12-31T23:59:59Z")
    last = rows["data"][-1]  # every fund-in, payout, failure refund and reversal, with its running balance
    print(last["transactionType"], last["transactionAmount"], last["runningBalance"])  # CREDIT 100 997500
