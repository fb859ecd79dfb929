-- PATCH /api/v1/tasks/{id} {"priority": n} on random ids of the bench user.
-- n is random, so most patches really change the row (a no-op PATCH skips the write).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

wrk.headers["Content-Type"] = "application/json"

function init(args)
   seed_random()
   load_ids()
end

function request()
   local body = string.format('{"priority":%d}', math.random(0, 4))
   return wrk.format("PATCH", "/api/v1/tasks/" .. random_id(), nil, body)
end
