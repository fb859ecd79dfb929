"""Live events: what happened to tasks, told to webhooks and to open SSE streams."""
