-- Wraps common.lua's done(): also prints "BENCH_TAIL {...}", how many requests took
-- longer than each threshold. wrk's Lua API exposes percentiles, not the histogram, so
-- the count is found by bisecting on the percentile: the share of requests above
-- `ms` is 100 - (the smallest p whose percentile exceeds it).
local common_done = done
local thresholds_ms = {50, 100, 250, 1000, 2000}

local function count_over(latency, total, us)
   if latency.max <= us then
      return 0
   end
   local lo, hi = 0.0, 100.0
   for _ = 1, 60 do
      local mid = (lo + hi) / 2
      if latency:percentile(mid) > us then
         hi = mid
      else
         lo = mid
      end
   end
   return math.max(1, math.floor(total * (100 - hi) / 100 + 0.5))
end

function done(summary, latency, requests)
   common_done(summary, latency, requests)
   local parts = {}
   for _, ms in ipairs(thresholds_ms) do
      local n = count_over(latency, summary.requests, ms * 1000)
      table.insert(parts, string.format('"%d":%d', ms, n))
   end
   io.write('BENCH_TAIL {"over_ms":{' .. table.concat(parts, ",") .. '}}\n')
end
