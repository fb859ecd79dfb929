-- POST /api/v1/tasks with the minimum body.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

wrk.headers["Content-Type"] = "application/json"
local counter = 0

function init(args)
   seed_random()
end

function request()
   counter = counter + 1
   local body = string.format('{"title":"bench task %d-%d"}', thread_id or 0, counter)
   return wrk.format("POST", "/api/v1/tasks", nil, body)
end
