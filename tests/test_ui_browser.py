"""The Dagster UI in a real browser: dagster-webserver on this project and a test database, one month
launched through its GraphQL API, then headless Chromium (Debian's package, driven by Playwright)
sees the asset graph, the `ingest` group and the check results. Screenshots go to artifacts/ui/.

The test instance sets the run coordinator to launch immediately (the default instance queues runs
for dagster-daemon): the webserver itself starts the run in a subprocess, so no daemon is needed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = PROJECT / "artifacts" / "ui"


def _groups() -> list[str]:
    from jn_credit_dagster.definitions import defs

    graph = defs().resolve_asset_graph()
    return sorted({graph.get(k).group_name for k in graph.get_all_asset_keys()})


GROUPS = _groups()
PENALTY = yaml.safe_load((PROJECT / "tests" / "cases" / "penalty.yaml").read_text(encoding="utf-8"))["good"]
MONTH = "2020-08"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
INSTANCE_YAML = """\
# launch runs straight from the webserver (the default instance would queue them for a daemon)
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
telemetry:
  enabled: false
"""

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                                 "(apt-get install chromium; .ci/run does)")]

LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchPipelineExecution(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
    ... on PipelineNotFoundError { message }
  }
}"""
RUN_STATUS = "query Run($id: ID!) { runOrError(runId: $id) { ... on Run { status tags { key value } } } }"
LOCATIONS = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(base: str, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(f"{base}/graphql", data=json.dumps({"query": query, "variables": variables or {}}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.load(response)
    assert "errors" not in body, body["errors"]
    return body["data"]


def _wait(what: str, ready, timeout: float, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = ready()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"{what} not within {timeout:.0f}s; webserver log:\n{log.read_text(errors='replace')[-3000:]}")


@pytest.fixture
def webserver(db, deliver, inbox, tmp_path):
    deliver("amr", MONTH, f"penalty.{MONTH.replace('-', '')}20.csv", [PENALTY])
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE_YAML, encoding="utf-8")
    port = _free_port()
    log = tmp_path / "webserver.log"
    env = {**os.environ, "DAGSTER_HOME": str(home), "DATABASE_URL": db, "JN_CREDIT_INBOX": str(inbox),
           "JN_CREDIT_HOME": str(tmp_path / "home")}
    scripts = Path(sys.executable).parent
    with open(log, "wb") as out:
        server = subprocess.Popen([str(scripts / "dagster-webserver"), "-w", str(PROJECT / "workspace.yaml"),
                                   "-p", str(port), "-h", "127.0.0.1"], cwd=PROJECT, env=env, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait("/server_info", lambda: urllib.request.urlopen(f"{base}/server_info", timeout=2).status == 200, 60, log)
        _wait("the code location", lambda: [e["loadStatus"] for e in
                                            _graphql(base, LOCATIONS)["workspaceOrError"]["locationEntries"]] == ["LOADED"],
              60, log)
        yield base, log
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the webserver and its code server: this test's own session
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_ui_shows_groups_runs_a_month_and_its_checks(webserver, query, tmp_path):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout, expect, sync_playwright

    base, log = webserver
    started = time.monotonic()
    launched = _graphql(base, LAUNCH, {"params": {
        "selector": {"repositoryLocationName": "jn_credit_dagster", "repositoryName": "__repository__",
                     "jobName": "ingest_month"},
        "runConfigData": {"execution": {"config": {"in_process": {}}}},  # one process: seconds, not a minute
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": MONTH},
                                       {"key": "month", "value": MONTH}, {"key": "trigger", "value": "ui_test"}]},
    }})["launchPipelineExecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]

    def finished():
        status = _graphql(base, RUN_STATUS, {"id": run_id})["runOrError"]["status"]
        return status if status in {"SUCCESS", "FAILURE", "CANCELED"} else None

    assert _wait(f"run {run_id}", finished, 75, log) == "SUCCESS", log.read_text(errors="replace")[-3000:]
    assert query("SELECT count(*) FROM raw.penalty WHERE month = %s", (f"{MONTH}-01",)) == [(1,)]
    launched_in = time.monotonic() - started

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1600, "height": 1000})
        try:
            page = browser.new_page()
            page.set_default_timeout(30_000)

            def dismiss_welcome():
                """Dagster's "Join the community" dialog comes up a moment after the first page."""
                skip = page.get_by_role("button", name="Skip")
                try:
                    skip.first.wait_for(state="visible", timeout=3000)
                except PlaywrightTimeout:
                    return
                skip.first.click()

            # the global asset graph: every group of the project, folded
            page.goto(f"{base}/asset-groups")
            page.wait_for_timeout(1500)
            dismiss_welcome()
            for group in GROUPS:
                expect(page.get_by_text(group, exact=True).first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "asset-groups.png"))

            # the ingest group's graph, with the checks' results on its nodes (the graph draws only the
            # nodes in view, wherever its layout centres them: some feed's node)
            page.goto(f"{base}/locations/__repository__@jn_credit_dagster/asset-groups/ingest")
            feeds = "|".join(sorted(p.stem for p in (PROJECT / "assets" / "feeds").glob("*.yaml")))
            expect(page.get_by_text(re.compile(rf"^({feeds})$")).first).to_be_visible()
            page.wait_for_timeout(1500)
            dismiss_welcome()
            expect(page.get_by_text("1 / 1 Passed").first).to_be_visible()
            expect(page.get_by_text("Loading…")).to_have_count(0)
            page.screenshot(path=str(ARTIFACTS / "asset-graph.png"))

            # the catalog: assets with their code location / group
            page.goto(f"{base}/assets")
            expect(page.get_by_text("ingest / inbox").first).to_be_visible()
            dismiss_welcome()
            expect(page.get_by_role("link", name=re.compile(r"(^|\s)ingest$")).first).to_be_visible()  # the group link
            expect(page.get_by_text(re.compile(r"^\d+ partitions$")).first).to_be_visible()  # statuses loaded
            page.screenshot(path=str(ARTIFACTS / "catalog.png"))

            # the GX suite's check on raw/penalty, with the month's result
            page.goto(f"{base}/assets/raw/penalty?view=checks")
            expect(page.get_by_text("Evaluation result")).to_be_visible()
            dismiss_welcome()
            body = page.locator("body")
            expect(body).to_contain_text("expectations")
            expect(body).to_contain_text("Passed")
            expect(body).to_contain_text(MONTH)
            expect(body).to_contain_text("accepted_rows")
            page.screenshot(path=str(ARTIFACTS / "penalty-checks.png"), full_page=True)
        finally:
            browser.close()
    print(f"run {run_id} succeeded in {launched_in:.1f}s; screenshots in {ARTIFACTS}")
