-- wrk script: GET /healthz through the same Lua request() path as decide.lua, so both
-- measurements pay the load generator the same per-request cost.
function request()
  return wrk.format("GET", "/healthz")
end

function done(summary, latency, requests)
  io.write(string.format("latency p50=%.2fms p99=%.2fms max=%.2fms\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
