"""Serving: the uvicorn server, the CLI, the admin API, logs and TLS."""
