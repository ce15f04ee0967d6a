"""The alerts channel against a real HTTP server on 127.0.0.1 and a real log file."""

import http.server
import json
import threading

import pytest

from jn_credit_dagster.lib.common import alerts
from jn_credit_dagster.defs.resources import Alerts


@pytest.fixture
def webhook():
    """A local HTTP server that records what is POSTed to it; yields (url, received list)."""
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the stdlib's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"path": self.path, "type": self.headers["Content-Type"], "body": json.loads(body)})
            self.send_response(500 if self.path == "/broken" else 204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


def test_alert_goes_to_log_and_webhook_from_the_environment(webhook, tmp_path, monkeypatch):
    url, received = webhook
    log = tmp_path / "alerts" / "alerts.jsonl"
    monkeypatch.setenv("JN_CREDIT_ALERT_LOG", str(log))
    monkeypatch.setenv("JN_CREDIT_ALERT_WEBHOOK", url + "/hook")
    done = Alerts().send("2020-08 报送截止：1 个单位缺报", "市市场监督管理局（amr）：registry", kind="deadline",
                         month="2020-08", units=["amr"])
    assert done.sent == ["log", "webhook"] and not done.errors
    assert len(received) == 1 and received[0]["path"] == "/hook" and received[0]["type"].startswith("application/json")
    body = received[0]["body"]
    assert body["title"] == "2020-08 报送截止：1 个单位缺报" and body["month"] == "2020-08" and body["units"] == ["amr"]
    assert body["kind"] == "deadline" and "http" not in body["text"]
    assert [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] == [body]


def test_personal_id_numbers_never_leave(webhook, tmp_path):
    url, received = webhook
    Alerts(log_path=str(tmp_path / "a.jsonl"), webhook_url=url).send(
        "运行失败", "row of 370811198503120016 failed", details={"sample": "证件号码 370811198503120016"})
    sent = json.dumps(received[0]["body"], ensure_ascii=False) + (tmp_path / "a.jsonl").read_text(encoding="utf-8")
    assert "370811198503120016" not in sent and "370" in sent


def test_delivery_errors_are_reported_not_raised(webhook, tmp_path, caplog):
    url, _ = webhook
    assert Alerts(webhook_url=url + "/broken").send("t", "x").errors  # HTTP 500
    unreachable = Alerts(webhook_url="http://127.0.0.1:9/", timeout_seconds=1).send("t", "x")
    assert unreachable.sent == [] and "webhook" in unreachable.errors[0]
    folder_as_file = Alerts(log_path=str(tmp_path)).send("t", "x")
    assert folder_as_file.errors and "not delivered" in caplog.text


def test_nothing_configured_sends_nothing(monkeypatch):
    monkeypatch.delenv("JN_CREDIT_ALERT_LOG", raising=False)
    monkeypatch.delenv("JN_CREDIT_ALERT_WEBHOOK", raising=False)
    assert alerts.send(alerts.Alert("t", "x")).sent == []
