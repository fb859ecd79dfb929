-- 60 % GET one task / 20 % list first 20 / 20 % create: the embedded write-tail mix
-- (issue 14). Heavier on writes than mix.lua, so that SQLite's single write lock is
-- contended the way a busy embedded install contends it.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
dofile(os.getenv("BENCH_LUA_DIR") .. "/tail.lua")

local json_headers = {}
local counter = 0

function init(args)
   seed_random()
   load_ids()
   -- wrk.format() uses a headers table given to it *instead of* wrk.headers.
   for name, value in pairs(wrk.headers) do
      json_headers[name] = value
   end
   json_headers["Content-Type"] = "application/json"
end

function request()
   local r = math.random(100)
   if r <= 60 then
      return wrk.format("GET", "/api/v1/tasks/" .. random_id())
   elseif r <= 80 then
      return wrk.format("GET", "/api/v1/tasks?limit=20")
   end
   counter = counter + 1
   local body = string.format('{"title":"mix task %d-%d"}', thread_id or 0, counter)
   return wrk.format("POST", "/api/v1/tasks", json_headers, body)
end
