-- 60 % GET one task / 20 % list first 20 / 20 % create: the embedded write-tail mix
-- (issue 14). Heavier on writes than mix.lua, so that SQLite's single write lock is
-- contended the way a busy embedded install contends it.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
dofile(os.getenv("BENCH_LUA_DIR") .. "/tail.lua")

mixed_scenario(60, 80, 100)
