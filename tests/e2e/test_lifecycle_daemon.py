"""The condition lifecycle through the whole daemon: Unknown while the log is missing, then a
condition raised by one line and cleared by a resolving line, seen on /conditions and /healthz."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from tests.support.daemon import start_daemon


def app_condition(body: str) -> dict[str, str]:
    [condition] = [c for c in json.loads(body) if c["type"] == "AppBroken"]
    return condition


def test_unknown_while_missing_then_raised_and_resolved(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    config = tmp_path / "app-monitor.json"
    config.write_text(
        json.dumps(
            {
                "plugin": "filelog",
                "pluginConfig": {
                    "timestamp": r"^\S+",
                    "message": r"^\S+ (.*)",
                    "timestampFormat": "2006-01-02T15:04:05Z07:00",
                },
                "logPath": str(log),
                "lookback": "1h",
                "source": "app-monitor",
                "unreadableAfter": "0s",
                "conditions": [{"type": "AppBroken", "reason": "AppIsFine", "message": "app is fine"}],
                "rules": [
                    {
                        "type": "permanent",
                        "condition": "AppBroken",
                        "reason": "AppFailed",
                        "pattern": "fatal: .*",
                        "resolve": {"pattern": "recovered: .*"},
                    }
                ],
            }
        )
    )
    args = ["--enable-k8s-exporter=false", f"--config.system-log-monitor={config}"]
    with start_daemon(args, tool=False, state_dir=tmp_path / "state", wait_ready=False) as daemon:
        _, body = daemon.wait_for_page(
            "/conditions", lambda s, b: s == 200 and app_condition(b)["status"] == "Unknown"
        )
        condition = app_condition(body)
        assert condition["reason"] == "SourceUnreadable"
        assert "does not exist" in condition["message"]
        status, health = daemon.get("/healthz")
        assert status == 503 and "does not exist" in health

        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        log.write_text(f"{now} fatal: cannot open database\n")
        _, body = daemon.wait_for_page("/conditions", lambda s, b: app_condition(b)["status"] == "True")
        assert app_condition(body)["reason"] == "AppFailed"
        assert daemon.get("/healthz")[0] == 200

        with log.open("a") as handle:
            handle.write(f"{now} recovered: database reachable\n")
        _, body = daemon.wait_for_page("/conditions", lambda s, b: app_condition(b)["status"] == "False")
        assert app_condition(body)["reason"] == "AppIsFine"
        assert daemon.stop() == 0
