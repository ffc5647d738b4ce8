"""The HTTP API, one module per area; each exposes `router`."""
