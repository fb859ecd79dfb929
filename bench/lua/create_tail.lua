-- create.lua plus the over-threshold counts of tail.lua.
dofile(os.getenv("BENCH_LUA_DIR") .. "/create.lua")
dofile(os.getenv("BENCH_LUA_DIR") .. "/tail.lua")
