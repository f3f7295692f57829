"""API tokens: ``rl_<id>_<secret>``, shown once when issued; the server keeps only their sha256."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from cloud_sync.server.app import token_sha256
from cloud_sync.server.store import CloudStore, Role


def issue_token(
    store: CloudStore, tenant: str, role: Role, ttl: timedelta | None = None, subject: str | None = None
) -> tuple[str, str]:
    """(token id, the token itself). The id names it for revocation; the token is not stored anywhere.
    ``subject``: the person it speaks for; a rep token needs it (the rep id their calls carry)."""
    if role == Role.REP and not subject:
        raise ValueError("a rep token needs --subject: the rep id the rep's device puts on calls (--rep)")
    token_id = secrets.token_hex(6)
    token = f"rl_{token_id}_{secrets.token_urlsafe(32)}"
    expires = datetime.now(UTC) + ttl if ttl is not None else None
    store.add_token(token_id, tenant, role, token_sha256(token), expires, subject)
    return token_id, token
