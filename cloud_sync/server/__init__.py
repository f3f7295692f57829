"""The thin cloud service: tenants and tokens, call ingest (resumable, idempotent), and later the
reports. ``app`` is the HTTP API (FastAPI), ``store`` the storage behind one interface."""
