"""Search and AI (SPEC §7): embedders, and later the vector and full-text queries."""
