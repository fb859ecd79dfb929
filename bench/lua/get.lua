-- GET /api/v1/tasks/{id} for random ids of the bench user.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function init(args)
   seed_random()
   load_ids()
end

function request()
   return wrk.format("GET", "/api/v1/tasks/" .. random_id())
end
