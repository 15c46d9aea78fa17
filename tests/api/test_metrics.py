"""GET /metrics: counters move with the pairing flow and GraphQL operations,
gauges show what the database holds, and with metrics_port the endpoint leaves
the public listener for one of its own."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families

from compass.metrics import MAX_OPERATION_NAMES, operation_label
from compass.notifications.outbox import enqueue
from compass.notifications.worker import OutboxWorker
from tests.api.pki_client import csr_for
from tests.api.trust import (
    BEHIND_PROXY,
    CONFIGURATION,
    CONNECTOR_PATH,
    SIGN,
    as_certificate,
    compass_api,
    connector,
    one_time_token,
    pair,
    pair_with_token,
    register_application,
    register_runtime,
)
from tests.conftest import error_code
from tests.e2e.server import free_port, running_server
from tests.notifications.harness import add_webhook, driven_app
from tests.notifications.receiver import running_receiver

MISSING_ID = "7c1d4c5e-0000-4000-8000-000000000000"
REVOKE = "mutation { revokeCertificate }"
Samples = dict[tuple[str, frozenset], float]


async def _scrape(api) -> Samples:
    response = await api.client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return _samples(response.text)


def _samples(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return _value(after, name, **labels) - _value(before, name, **labels)


async def test_pairing_flow_moves_the_counters(api):
    before = await _scrape(api)
    app_id = await register_application(api, f"shop-{uuid.uuid4().hex[:6]}")
    token = (await one_time_token(api, "Application", app_id))["token"]
    await pair_with_token(api, token)
    refused = await connector(api, token).error(CONFIGURATION, path=CONNECTOR_PATH)
    assert error_code(refused) == 26
    await api.data("query CountApplications { applications { totalCount } }")
    missing = await api.error(
        f'mutation Unregister {{ unregisterRuntime(id: "{MISSING_ID}") {{ id }} }}'
    )
    assert error_code(missing) == 20
    after = await _scrape(api)

    tokens = "compass_one_time_tokens_total"
    assert _moved(before, after, tokens, event="issued", purpose="CONNECTOR") == 1
    assert _moved(before, after, tokens, event="issued", purpose="CSR") == 1
    assert _moved(before, after, tokens, event="redeemed", purpose="") == 2
    assert _moved(before, after, tokens, event="refused", purpose="") == 1
    assert _moved(before, after, "compass_client_certificates_total", event="issued") == 1

    requests = "compass_graphql_requests_total"
    assert _moved(before, after, requests, operation="CountApplications", result="ok") == 1
    assert _moved(before, after, requests, operation="Unregister", result="20") == 1
    # registerApplication, the token and the two Connector calls are unnamed.
    assert _moved(before, after, requests, operation="anonymous", result="ok") == 4
    assert _moved(before, after, requests, operation="anonymous", result="26") == 1
    duration = "compass_graphql_request_duration_seconds_count"
    assert _moved(before, after, duration, operation="CountApplications") == 1


async def test_gauges_show_the_database(api):
    await register_application(api, "shop")
    await register_runtime(api, "edge")
    samples = await _scrape(api)
    assert _value(samples, "compass_database_up") == 1
    applications = {
        dict(labels)["status"]: value
        for (name, labels), value in samples.items()
        if name == "compass_applications"
    }
    assert applications == {"INITIAL": 1}
    assert _value(samples, "compass_runtimes", status="INITIAL") == 1
    assert _value(samples, "compass_runtime_agents", connection="pending") == 1
    assert _value(samples, "compass_runtime_agents", connection="connected") == 0
    # No agent has called yet: there is no last call to be old.
    assert not any(name.startswith("compass_runtime_agent_last_seen") for name, _ in samples)


async def test_outbox_depth_and_age_per_kind(app, api, monkeypatch):
    async def nothing_runs(self):
        return 0

    # Rows the worker would run at once must stay to be counted.
    monkeypatch.setattr(OutboxWorker, "run_once", nothing_runs)
    async with app.state.compass.sessions() as session:
        for _ in range(3):
            await enqueue(session, "metrics.test", {})
        await enqueue(session, "metrics.other", {})
        await session.commit()
    samples = await _scrape(api)
    assert _value(samples, "compass_outbox_rows", kind="metrics.test") == 3
    assert _value(samples, "compass_outbox_rows", kind="metrics.other") == 1
    assert _value(samples, "compass_outbox_oldest_age_seconds", kind="metrics.test") >= 0


def test_operation_names_stay_a_bounded_set():
    assert operation_label(None) == "anonymous"
    assert operation_label("") == "anonymous"
    assert operation_label("Bad-Name") == "other"
    assert operation_label("x" * 500) == "x" * 64
    for n in range(MAX_OPERATION_NAMES + 5):
        operation_label(f"Generated{n}")
    assert operation_label(f"Generated{MAX_OPERATION_NAMES + 10}") == "other"


async def test_metrics_port_takes_metrics_off_the_public_app(settings):
    async with compass_api(settings, metrics_port=9999) as api:
        response = await api.client.get("/metrics")
        assert response.status_code == 404


def test_compass_serve_answers_metrics_on_its_own_port(tmp_path):
    port = free_port()
    with running_server(
        tmp_path / "data", tmp_path / "serve.log", {"COMPASS_METRICS_PORT": str(port)}
    ) as server:
        public = httpx.get(f"{server.base_url}/metrics", timeout=10)
        own = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert public.status_code == 404
    assert own.status_code == 200
    samples = _samples(own.text)
    assert _value(samples, "compass_database_up") == 1
    assert "Traceback" not in server.output()


def test_multiprocess_directory_adds_up_the_processes(tmp_path):
    """With PROMETHEUS_MULTIPROC_DIR, counters of other processes are in the output."""
    script = (
        "from compass import metrics\n"
        "metrics.record_certificate('revoked')\n"
        "import sys; sys.stdout.write(metrics._process_metrics().decode())\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    runs = [
        subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
        )
        for _ in range(2)
    ]
    for run in runs:
        assert run.returncode == 0, run.stderr
    samples = _samples(runs[-1].stdout)
    assert _value(samples, "compass_client_certificates_total", event="revoked") == 2


async def test_renewal_and_revocation_are_counted(settings):
    async with compass_api(settings, **BEHIND_PROXY) as api:
        before = await _scrape(api)
        app_id = await register_application(api, "shop")
        paired = await pair(api, "Application", app_id)
        me = as_certificate(api, paired.certificate)
        await me.data(SIGN, {"csr": csr_for(paired.subject)}, path=CONNECTOR_PATH)
        assert await me.data(REVOKE, path=CONNECTOR_PATH) == {"revokeCertificate": True}
        after = await _scrape(api)
    certificates = "compass_client_certificates_total"
    assert _moved(before, after, certificates, event="issued") == 1
    assert _moved(before, after, certificates, event="renewed") == 1
    assert _moved(before, after, certificates, event="revoked") == 1


async def test_webhook_attempts_and_failures_are_counted(settings):
    with running_receiver() as receiver:
        receiver.answers = [500, 500]
        async with driven_app(settings, window=timedelta(minutes=1)) as harness:
            before = await _scrape(harness.api)
            labels = {"labels": {"scenarios": ["DEFAULT"]}}
            app_id = await register_application(harness.api, "shop", labels)
            await add_webhook(harness.api, app_id, receiver.url())
            await register_runtime(harness.api, "cluster", labels)
            assert await harness.deliver() == 1
            harness.clock.advance(minutes=2)
            assert await harness.deliver() == 1
            after = await _scrape(harness.api)
    attempts = "compass_webhook_delivery_attempts_total"
    assert _moved(before, after, attempts, result="error") == 2
    assert _moved(before, after, attempts, result="ok") == 0
    assert _moved(before, after, "compass_webhook_deliveries_failed_total") == 1
