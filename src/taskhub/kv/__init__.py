"""Redis-backed rate limits and cache, with in-process equivalents behind the same interfaces."""
