-- wrk script for bench/stac_api_bench.py: cycles over a file of requests,
-- one a line as METHOD<TAB>PATH[<TAB>JSON BODY], each thread from its own
-- offset, and prints the results as one JSON line.
--   wrk ... -s stac_api_requests.lua URL -- REQUESTS_FILE
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  requests = {}
  for line in io.lines(args[1]) do
    local method, path, body = line:match("^(%u+)\t([^\t]+)\t?(.*)$")
    if body ~= nil and body ~= "" then
      requests[#requests + 1] = wrk.format(method, path, {["Content-Type"] = "application/json"}, body)
    else
      requests[#requests + 1] = wrk.format(method, path)
    end
  end
  next_request = (id * 7919) % #requests + 1
  non_200 = 0
  first_bad = ""
end

function request()
  local formatted = requests[next_request]
  next_request = next_request % #requests + 1
  return formatted
end

function response(status, headers, body)
  if status ~= 200 then
    non_200 = non_200 + 1
    if first_bad == "" then
      first_bad = tostring(status) .. " " .. string.sub(body or "", 1, 200)
    end
  end
end

function done(summary, latency, requests)
  local non_200_total = 0
  local bad = ""
  for _, thread in ipairs(threads) do
    non_200_total = non_200_total + thread:get("non_200")
    if bad == "" then
      bad = thread:get("first_bad") or ""
    end
  end
  local errors = summary.errors
  bad = bad:gsub("\\", "\\\\"):gsub('"', '\\"'):gsub("[%c]", " ")
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, "non_200": %d, ' ..
    '"socket_errors": %d, "first_bad": "%s"}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max, non_200_total,
    errors.connect + errors.read + errors.write + errors.timeout, bad))
end
