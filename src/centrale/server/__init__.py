"""The live server: HTTP API, writer loop, authentication, audit log."""
