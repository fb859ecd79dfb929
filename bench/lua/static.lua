-- One fixed GET (BENCH_PATH): the ceiling, the first page and the deep cursor page.
-- No request() function, so wrk builds the request once and replays it: the cheapest
-- load generator path, which matters when wrk shares the 2 cores with the server.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function init(args)
   wrk.method = "GET"
   wrk.path = os.getenv("BENCH_PATH") or "/"
end
