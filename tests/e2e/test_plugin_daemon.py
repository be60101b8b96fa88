"""A custom plugin monitor in the whole daemon: upstream's config format, a real check script,
the condition raised and cleared as the check's verdict changes, seen on /conditions and /metrics."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.daemon import start_daemon


def ntp_condition(body: str) -> tuple[str, str, str]:
    [condition] = [c for c in json.loads(body) if c["type"] == "NTPProblem"]
    return condition["status"], condition["reason"], condition["message"]


def test_a_check_script_raises_and_clears_its_condition(tmp_path: Path) -> None:
    verdict = tmp_path / "verdict"
    verdict.write_text("0\n")
    script = tmp_path / "check_ntp.sh"
    script.write_text(
        "#!/bin/sh\n"
        f'code=$(cat "{verdict}")\n'
        'if [ "$code" = 0 ]; then echo "NTP is synchronized"; else echo "NTP is down"; fi\n'
        'exit "$code"\n'
    )
    script.chmod(0o755)
    config = tmp_path / "custom-plugin-monitor.json"
    config.write_text(
        json.dumps(
            {
                "plugin": "custom",
                "pluginConfig": {"invoke_interval": "100ms", "timeout": "5s", "max_output_length": 80},
                "source": "ntp-custom-plugin-monitor",
                "metricsReporting": True,
                "conditions": [{"type": "NTPProblem", "reason": "NTPIsUp", "message": "ntp service is up"}],
                "rules": [
                    {
                        "type": "permanent",
                        "condition": "NTPProblem",
                        "reason": "NTPIsDown",
                        "path": str(script),
                        "timeout": "3s",
                    }
                ],
            }
        )
    )
    args = ["--enable-k8s-exporter=false", f"--config.custom-plugin-monitor={config}"]
    with start_daemon(args, tool=False, state_dir=tmp_path / "state") as daemon:
        daemon.wait_for_page("/conditions", lambda s, b: s == 200 and "NTPProblem" in b)
        _, body = daemon.get("/conditions")
        assert ntp_condition(body) == ("False", "NTPIsUp", "ntp service is up")

        verdict.write_text("1\n")
        _, body = daemon.wait_for_page("/conditions", lambda s, b: ntp_condition(b)[0] == "True")
        assert ntp_condition(body) == ("True", "NTPIsDown", "NTP is down")
        daemon.wait_for_page(
            "/metrics", lambda s, b: 'problem_gauge{type="NTPProblem",reason="NTPIsDown"} 1' in b
        )

        verdict.write_text("0\n")
        _, body = daemon.wait_for_page("/conditions", lambda s, b: ntp_condition(b)[0] == "False")
        # As upstream: back to the default reason and message.
        assert ntp_condition(body) == ("False", "NTPIsUp", "ntp service is up")
        assert daemon.stop() == 0


def test_plugins_inherit_only_the_helpers_variables(tmp_path: Path) -> None:
    script = tmp_path / "show_env.sh"
    script.write_text(
        '#!/bin/sh\necho "port=$KUBELET_PORT other=${NPD_TEST_SECRET:-unset} path=$PATH"\nexit 1\n'
    )
    script.chmod(0o755)
    config = tmp_path / "env.json"
    config.write_text(
        json.dumps(
            {
                "plugin": "custom",
                "pluginConfig": {"invoke_interval": "100ms", "timeout": "5s", "max_output_length": 200},
                "source": "env-monitor",
                "conditions": [{"type": "NTPProblem", "reason": "NTPIsUp", "message": "ntp service is up"}],
                "rules": [
                    {"type": "permanent", "condition": "NTPProblem", "reason": "Env", "path": str(script)}
                ],
            }
        )
    )
    args = ["--enable-k8s-exporter=false", f"--config.custom-plugin-monitor={config}"]
    env = {
        "KUBELET_PORT": "10999",
        "NPD_TEST_SECRET": "kept from plugins",
        "PATH": "/nonexistent:/usr/bin:/bin",
    }
    with start_daemon(args, tool=False, state_dir=None, env=env) as daemon:
        _, body = daemon.wait_for_page(
            "/conditions", lambda s, b: "NTPProblem" in b and ntp_condition(b)[0] == "True"
        )
        # KUBELET_PORT (read by upstream's health-checker) passes; anything else does not, and
        # PATH is npd's own.
        assert ntp_condition(body)[2] == (
            "port=10999 other=unset path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        )
        assert daemon.stop() == 0
