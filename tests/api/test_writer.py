"""The receipt writer process (consent_api/writer.py), as it runs under gunicorn: it is
replaced when it dies without losing an acknowledged receipt, and it never outlives its API."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tests.api.conftest import KEY1, Api, api_env, database, request_body, start
from tests.harness import Served


def writers_of(api: Api) -> set[int]:
    """The pids of the receipt writers started by this API's gunicorn workers."""
    assert api.process is not None
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if b"consent_api.writer" not in (entry / "cmdline").read_bytes():
                continue
            worker = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            master = int((Path("/proc") / str(worker) / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if master == api.process.pid:
            found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has exited; its parent has not yet collected it


def wait_for(condition, seconds: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return bool(condition())


def test_a_killed_writer_is_replaced_and_a_retry_stores_the_receipt(
    backend: str, site: Served, tmp_path: Path
) -> None:
    api = start(api_env(database(backend, tmp_path), site.site_dir, [KEY1]), tmp_path)
    try:
        status, _, _ = api.call("POST", "api/v1/receipts", request_body())
        assert status == 201
        [writer] = writers_of(api)
        os.kill(writer, signal.SIGKILL)
        assert wait_for(lambda: not alive(writer))

        body = request_body()
        answers = []
        for _ in range(5):
            status, headers, answer = api.call("POST", "api/v1/receipts", body)
            answers.append(status)
            if status != 503:
                break
            # Told plainly to try again, the way the widget's queue does.
            assert answer["error"] == "unavailable" and headers["Retry-After"] == "1"
        assert answers[-1] == 201 and set(answers[:-1]) <= {503}, answers
        assert writers_of(api) and writer not in writers_of(api)
        status, _, again = api.call("POST", "api/v1/receipts", body)
        assert status == 200 and again["receipt"]["consentReceiptID"] == body["receipt_id"]
        verify = api.flask("verify")
        assert verify.returncode == 0 and "2 receipts checked: the log verifies" in verify.stdout, verify.stdout
    finally:
        api.stop()


def test_the_writer_exits_with_its_api_even_when_the_api_is_killed(site: Served, tmp_path: Path) -> None:
    env = api_env(database("sqlite", tmp_path), site.site_dir, [KEY1])
    for kill in (False, True):
        api = start(env, tmp_path)
        status, _, _ = api.call("POST", "api/v1/receipts", request_body())
        assert status == 201
        writers = writers_of(api)
        assert len(writers) == 1
        api.stop(kill=kill)
        assert wait_for(lambda pids=writers: not any(alive(pid) for pid in pids)), (
            f"writer {writers} still running after the API was {'killed' if kill else 'stopped'}")

