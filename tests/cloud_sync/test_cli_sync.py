"""`ridealong-cloud` and `ridealong sync` as processes: a tenant, a token, and a call synced over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from edge.call_store import CallStore
from tests.cloud_sync.conftest import REP, recorded_call
from tests.conftest import REPO


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=REPO, env={**os.environ, **(env or {})},
        timeout=120,
    )  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_admin_a_tenant_then_sync_from_the_edge_command(tmp_path: Path) -> None:
    db = str(tmp_path / "cloud.db")
    cloud = ["-m", "cloud_sync.server.cli", "--db", db]
    assert _run(*cloud, "tenant", "create", "acme", "--name", "Acme Heating").returncode == 0
    again = _run(*cloud, "tenant", "create", "acme")
    assert again.returncode == 2 and "already exists" in again.stderr
    nope = _run(*cloud, "token", "issue", "--tenant", "nope", "--role", "rep", "--subject", REP)
    assert nope.returncode == 2 and "create it first" in nope.stderr
    nobody = _run(*cloud, "token", "issue", "--tenant", "acme", "--role", "rep")
    assert nobody.returncode == 2 and "needs --subject" in nobody.stderr
    issued = _run(*cloud, "token", "issue", "--tenant", "acme", "--role", "rep", "--subject", REP)
    assert issued.returncode == 0 and "shown only now" in issued.stderr
    token = issued.stdout.strip()
    assert token.startswith("rl_")
    manager = _run(
        *cloud, "token", "issue", "--tenant", "acme", "--role", "manager", "--subject", "dana"
    ).stdout.strip()

    port = _free_port()
    server = subprocess.Popen([sys.executable, *cloud, "serve", "--port", str(port), "--no-deep-dive"], cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/openapi.json").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "ridealong-cloud serve did not come up"
            time.sleep(0.1)
        edge_db = tmp_path / "calls.db"
        store = CallStore(edge_db)
        call_id = recorded_call(store, tenant="acme")
        store.close()
        edge = ["-m", "edge.cli", "sync", "--db", str(edge_db)]
        missing = _run(*edge)
        assert missing.returncode == 2 and "no cloud configured" in missing.stdout
        synced = _run(*edge, "--server", url, "--token", token)
        assert synced.returncode == 0, synced.stdout + synced.stderr
        assert "synced 1 of 1 calls" in synced.stdout
        assert "nothing to sync" in _run(*edge, "--server", url, "--token", token).stdout
        wrong = CallStore(edge_db)
        other = recorded_call(wrong, seed=9, tenant="acme")
        wrong.close()
        refused = _run(*edge, "--server", url, "--token", "rl_0_nope")
        assert refused.returncode == 1 and f"still pending: {other}" in refused.stdout and "401" in refused.stdout
        assert call_id != other
        # The server's own worker indexed the synced call; a manager searches it.
        auth = {"Authorization": f"Bearer {manager}"}
        while "done" not in _run(*cloud, "jobs", "list", "--tenant", "acme").stdout:
            assert time.monotonic() < deadline + 60, "the index job did not run"
            time.sleep(0.2)
        hits = httpx.get(f"{url}/v1/search", params={"q": "line 3", "role": "customer"}, headers=auth).json()
        assert hits[0]["call_id"] == call_id and hits[0]["text"] == "line 3" and hits[0]["role"] == "customer"
        exported = _run(*cloud, "report", "export", "--tenant", "acme", "--out", str(tmp_path / "page"), call_id)
        assert exported.returncode == 0, exported.stderr
        page = (tmp_path / "page" / "index.html").read_text()
        assert "has not been reviewed yet" in page and (tmp_path / "page" / "audio.wav").stat().st_size > 44
    finally:
        server.terminate()
        server.wait(10)
