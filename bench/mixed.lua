-- wrk script for the load run: every connection alternates a list of 100 clients and a create.
-- 429s are the rate limiter doing its job and are counted apart from errors (see bench/run.py).
local counter = 0

function request()
  counter = counter + 1
  if counter % 2 == 0 then
    local body = string.format(
      '{"name":"Load %d","client_initials":"LD","address_country_code":"EE"}', counter)
    return wrk.format("POST", "/api/v1/clients", {["Content-Type"] = "application/json"}, body)
  end
  return wrk.format("GET", "/api/v1/clients?limit=100")
end

local statuses = {}

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
