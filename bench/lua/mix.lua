-- 80/15/5 read/create/patch. Reads are 60 GET one task + 20 list first page, because
-- a client both opens tasks and lists them; the split is fixed so runs compare.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

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
   if r <= 60 then
      return wrk.format("GET", "/api/v1/tasks/" .. random_id())
   elseif r <= 80 then
      return wrk.format("GET", "/api/v1/tasks?limit=20")
   elseif r <= 95 then
      counter = counter + 1
      local body = string.format('{"title":"mix task %d-%d"}', thread_id or 0, counter)
      return wrk.format("POST", "/api/v1/tasks", json_headers, body)
   else
      local body = string.format('{"priority":%d}', math.random(0, 4))
      return wrk.format("PATCH", "/api/v1/tasks/" .. random_id(), json_headers, body)
   end
end
