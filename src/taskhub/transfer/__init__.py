"""Import/export building blocks (SPEC §10): CSV readers, dedupe keys, safe CSV cells,
personal access token format. Framework-free; the import job and routers wire them."""
