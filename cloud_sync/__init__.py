"""Wire contract, edge sync client and the thin cloud service (built in a later issue)."""
