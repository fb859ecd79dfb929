-- Shared by every scenario script (loaded with dofile from BENCH_LUA_DIR).
-- Configuration comes from the environment because wrk passes no options to Lua
-- besides trailing arguments, and env vars keep the scripts free of harness paths.
--   BENCH_TOKEN     bearer token (absent for the ceiling)
--   BENCH_IDS_FILE  one task id per line (GET / PATCH / mix scenarios)
--   BENCH_PATH      request path for the static scenarios
-- done() prints one line "BENCH_JSON {...}" that bench/run.py parses.

local threads = {}
local thread_counter = 0

function setup(thread)
   thread_counter = thread_counter + 1
   thread:set("thread_id", thread_counter)
   table.insert(threads, thread)
end

-- Per-thread state (each wrk thread has its own Lua state).
non2xx = 0
statuses = {}
ids = {}

local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
   wrk.headers["Authorization"] = "Bearer " .. token
end

function load_ids()
   local path = os.getenv("BENCH_IDS_FILE")
   if not path or path == "" then
      return
   end
   for line in io.lines(path) do
      if line ~= "" then
         table.insert(ids, line)
      end
   end
   if #ids == 0 then
      error("BENCH_IDS_FILE " .. path .. " holds no ids")
   end
end

function random_id()
   return ids[math.random(#ids)]
end

function seed_random()
   -- Distinct streams per thread, otherwise both threads would request the same ids in lockstep.
   math.randomseed(os.time() * 1000 + (thread_id or 0) * 7919)
end

-- Counting in Lua (rather than trusting summary.errors.status, which only sees >399)
-- makes 3xx answers visible too, and keeps the distinct codes for the report.
function response(status, headers, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
      local key = tostring(status)
      statuses[key] = (statuses[key] or 0) + 1
   end
end

function done(summary, latency, requests)
   local total_non2xx = 0
   local merged = {}
   for _, thread in ipairs(threads) do
      total_non2xx = total_non2xx + (thread:get("non2xx") or 0)
      local st = thread:get("statuses") or {}
      for code, count in pairs(st) do
         merged[code] = (merged[code] or 0) + count
      end
   end
   local parts = {}
   for code, count in pairs(merged) do
      table.insert(parts, string.format('"%s":%d', code, count))
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"non2xx":%d,"statuses":{%s},' ..
      '"latency_us":{"mean":%.1f,"stdev":%.1f,"min":%d,"max":%d,' ..
      '"p50":%d,"p75":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      total_non2xx, table.concat(parts, ","),
      latency.mean, latency.stdev, latency.min, latency.max,
      latency:percentile(50), latency:percentile(75), latency:percentile(90),
      latency:percentile(99), latency:percentile(99.9)))
end

-- The mixed scenarios (mix.lua, mix_rw.lua) differ only in their split: cumulative
-- percentages up to which a request is a GET of one task, a first-page list, a create;
-- the rest are PATCHes of a random task. Defines that script's init() and request().
function mixed_scenario(get_upto, list_upto, create_upto)
   local json_headers = {}
   local counter = 0

   function init(args)
      seed_random()
      load_ids()
      -- wrk.format() uses a headers table given to it *instead of* wrk.headers, so the
      -- JSON headers must carry the Authorization header too.
      for name, value in pairs(wrk.headers) do
         json_headers[name] = value
      end
      json_headers["Content-Type"] = "application/json"
   end

   function request()
      local r = math.random(100)
      if r <= get_upto then
         return wrk.format("GET", "/api/v1/tasks/" .. random_id())
      elseif r <= list_upto then
         return wrk.format("GET", "/api/v1/tasks?limit=20")
      elseif r <= create_upto then
         counter = counter + 1
         local body = string.format('{"title":"mix task %d-%d"}', thread_id or 0, counter)
         return wrk.format("POST", "/api/v1/tasks", json_headers, body)
      else
         local body = string.format('{"priority":%d}', math.random(0, 4))
         return wrk.format("PATCH", "/api/v1/tasks/" .. random_id(), json_headers, body)
      end
   end
end
