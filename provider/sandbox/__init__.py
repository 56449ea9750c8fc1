"""The sandbox provider: handler_api in memory, for demos and tests (see `rules`)."""
