-- wrk script for the load run: every connection alternates a list of 100 clients and a create.
-- 429s are the rate limiter doing its job and are counted apart from errors (see bench/run.py).
local counter = 0
local post_headers = nil

local function with_json(headers)
  -- wrk.format() sends only the headers it is given: keep -H Authorization from wrk.headers.
  local copy = {["Content-Type"] = "application/json"}
  for name, value in pairs(headers) do copy[name] = value end
  return copy
end

function request()
  counter = counter + 1
  if counter % 2 == 0 then
    local body = string.format(
      '{"name":"Load %d","client_initials":"LD","address_country_code":"EE"}', counter)
    post_headers = post_headers or with_json(wrk.headers)
    return wrk.format("POST", "/api/v1/clients", post_headers, body)
  end
  return wrk.format("GET", "/api/v1/clients?limit=100")
end

statuses = {}  -- a global: done() reads it from each thread with thread:get()

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  -- wrk runs done() in a fresh Lua state: the counts come from each thread.
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    for status, n in pairs(counts) do
      io.write(string.format("status %d %d\n", status, n))
    end
  end
end

threads = {}

function setup(thread)
  table.insert(threads, thread)
end
