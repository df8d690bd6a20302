-- wrk script: payout transfers, each with a transactionId of its own (thread number + counter), and the same
-- JSON summary line as request.lua.
local counter = 0
local thread_no = 0
local threads = {}

setup = function(thread)
  thread:set("thread_no", #threads + 1)
  table.insert(threads, thread)
end

init = function(args)
  thread_no = tonumber(wrk.thread:get("thread_no")) or 0
end

local auth = os.getenv("WRK_AUTH") or ""
local prefix = os.getenv("WRK_PREFIX") or "W"
local fund = os.getenv("WRK_FUND") or ""

request = function()
  counter = counter + 1
  local body = string.format(
    '{"transactionId":"%s%d-%d","beneficiaryId":"BENBANK001","transferAmount":"1.00","transferMode":"IMPS","fundSourceId":"%s"}',
    prefix, thread_no, counter, fund)
  local headers = {["Content-Type"] = "application/json", ["User-Agent"] = "wrk-bench"}
  if auth ~= "" then headers["Authorization"] = auth end
  return wrk.format("POST", "/api/v0/payout-transaction", headers, body)
end

done = function(summary, latency, requests)
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":%d,"p50_us":%d,"p99_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
