-- wrk script for bench/tile_server_bench.py: cycles over a file of request
-- paths (one per line), each thread from its own offset, and prints the
-- results as one JSON line. (wrk runs for its whole -d even when a thread
-- stops early, so the bench sizes -d for the number of requests it wants.)
--   wrk ... -s tile_server_requests.lua URL -- PATHS_FILE
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
  next_path = (id * 7919) % #paths + 1
  responses = 0
  non_200 = 0
end

function request()
  local path = paths[next_path]
  next_path = next_path % #paths + 1
  return wrk.format("GET", path)
end

function response(status, headers, body)
  responses = responses + 1
  if status ~= 200 then
    non_200 = non_200 + 1
  end
end

function done(summary, latency, requests)
  local non_200_total = 0
  for _, thread in ipairs(threads) do
    non_200_total = non_200_total + thread:get("non_200")
  end
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, "non_200": %d, ' ..
    '"socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max, non_200_total,
    errors.connect + errors.read + errors.write + errors.timeout))
end
