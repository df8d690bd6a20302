import os

import httpx
from enkash_sandbox.client import EnKashBusinessError, EnKashClient

URL = os.environ.get("ENKASH_SANDBOX_URL", "http://127.0.0.1:8080")
creds = httpx.post(f"{URL}/_sandbox/partners").json()  # a fresh, isolated tenant
with EnKashClient.from_credentials(URL, creds) as enkash:
    rewards = (creds["companyId"], creds["cardAccounts"]["EMPLOYEE_REWARDS"])
    card = enkash.allocate_points(*rewards, 500, reference="ORDER-42", mobile="9876543210", firstName="Asha")
    print(card["otbBalance"])  # 500
    try:
        enkash.allocate_points(*rewards, 500, reference="ORDER-42", mobile="9876543210")
    except EnKashBusinessError as e:
        print(e.message)  # Duplicate uniqueReferenceNumber: ORDER-42 was already used on card account CA…
    holder = enkash.as_user("9876543210", "Holder@1234")  # the redemption APIs act for a holder
    print(holder.cart())
