"""`make fuzz`: schemathesis against a live server (run as `python -m fuzz.run`)."""
