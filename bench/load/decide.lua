-- wrk script: POST /v1/decide for a random member out of MEMBERS (default 100000),
-- or always the same member when MEMBERS=1. ACTION picks the action (default invite).
-- DRY_RUN=1 asks for dry runs: the same decisions, read and answered, with nothing written.
-- No response() callback: it makes wrk hand every answer to Lua, which slows wrk itself;
-- wrk already counts non-2xx answers.
local members = tonumber(os.getenv("MEMBERS") or "100000")
local action = os.getenv("ACTION") or "invite"
local tail = os.getenv("DRY_RUN") == "1" and '","dry_run":true}' or '"}'
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

function init(args)
  math.randomseed(seed * 7919 + os.time())
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local id = members == 1 and 1 or math.random(1, members)
  return wrk.format(nil, "/v1/decide", nil, '{"member":"m' .. id .. '","action":"' .. action .. tail)
end

function done(summary, latency, requests)
  io.write(string.format("latency p50=%.2fms p99=%.2fms max=%.2fms\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
