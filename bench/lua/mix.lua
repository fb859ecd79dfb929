-- 80/15/5 read/create/patch. Reads are 60 GET one task + 20 list first page, because
-- a client both opens tasks and lists them; the split is fixed so runs compare.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

mixed_scenario(60, 80, 95)
