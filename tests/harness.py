"""Build the site and serve it from a real server process, for the tests."""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: The date the real site is built as of in tests: reproducible, whatever today is.
BUILD_DATE = "2026-11-22"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(*prefixes: str) -> dict[str, str]:
    """This process's environment without the consent API's settings (``CONSENT_*`` and
    ``DATABASE_URL``) nor any variable of ``prefixes``: what a test hands a process it starts,
    so that nothing of the machine's own configuration leaks into it."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("CONSENT_", *prefixes)) and k != "DATABASE_URL"}


def cli(*args: str, check: bool = True, cwd: Path = ROOT,
        env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``imarouter-legal`` in its own process, as a user would."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", **(env_extra or {})}
    env.pop("LEGAL_BUILD_DATE", None)
    env.pop("LEGAL_PREVIEW", None)
    result = subprocess.run(
        [sys.executable, "-m", "legal_pages.cli", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"imarouter-legal {' '.join(args)} exited {result.returncode}:\n{result.stderr}"
        )
    return result


def build(
    site_dir: Path,
    *,
    site_url: str,
    date: str = BUILD_DATE,
    docs_dir: Path | None = None,
    preview: bool = False,
    api_url: str | None = None,
) -> Path:
    args = ["build", "--site-dir", str(site_dir), "--date", date, "--site-url", site_url]
    if docs_dir is not None:
        args += ["--docs-dir", str(docs_dir)]
    if preview:
        args.append("--preview")
    cli(*args, env_extra={"LEGAL_CONSENT_API_URL": api_url} if api_url else None)
    return site_dir


@dataclass(frozen=True)
class Served:
    base_url: str
    site_dir: Path

    def url(self, path: str) -> str:
        return self.base_url + path.lstrip("/")


def urlopen(url: str | urllib.request.Request, timeout: float = 10) -> Any:
    """urllib's urlopen; https here is only ever our nginx on loopback, with a certificate the
    test made, so it is not verified."""
    target = url if isinstance(url, str) else url.full_url
    context = ssl._create_unverified_context() if target.startswith("https://127.0.0.1") else None
    return urllib.request.urlopen(url, timeout=timeout, context=context)


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode} before answering")
        try:
            with urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise AssertionError(f"the server did not answer {url} within {timeout} s")


@contextlib.contextmanager
def serve(site_dir: Path, port: int, *extra: str) -> Iterator[Served]:
    """Serve ``site_dir`` with the product's own server (``imarouter-local``: with the API;
    ``"--no-api"`` in ``extra``: ``imarouter-legal serve``, the site alone), in its own process."""
    program = ["legal_pages.cli", "serve"] if "--no-api" in extra else ["consent_api.local"]
    command = [sys.executable, "-m", *program, "--no-build", "--site-dir", str(site_dir), "--port", str(port),
               *(e for e in extra if e != "--no-api")]
    env = clean_env()
    env.update(CONSENT_ENV="development", CONSENT_KEY_FILE=f"{site_dir}-consent-keys.json",
               CONSENT_LOG_KEY_FILE=f"{site_dir}-consent-log-keys.json", CONSENT_LOG_DIR=f"{site_dir}-consent-log",
               DATABASE_URL=f"sqlite:///{site_dir}-consent.sqlite3", NO_MKDOCS_2_WARNING="1")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(base_url, process)
        yield Served(base_url, site_dir)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def wait_for(page: Any, expression: str, arg: Any = None, timeout: float = 10) -> None:
    """Wait until a JavaScript expression (or a one-argument function, given ``arg``) is true in
    the page. Playwright's own wait_for_function evaluates its predicate with eval() while it
    polls, which the site's Content-Security-Policy refuses ('unsafe-eval'): it failed whenever
    the condition was not already true at the first look. page.evaluate is not eval()."""
    deadline = time.monotonic() + timeout
    while not (page.evaluate(expression, arg) if arg is not None else page.evaluate(expression)):
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {expression}")
        time.sleep(0.05)
