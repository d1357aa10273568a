"""One real `streamlit run app.py` server for a load test: started on a free loopback port, its stderr kept in a
file (the app logs one `excolor trained <keys> in <s> s` line per training), its memory and CPU read from /proc."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TRAINED = re.compile(r"^(?P<at>\S+ \S+) excolor trained (?P<keys>.+?) in (?P<seconds>[\d.]+) s$", re.MULTILINE)


class Server:
    """`streamlit run app.py` on a free loopback port, its stderr in a file."""

    def __init__(self, log_dir: Path, root: Path = ROOT, env: dict[str, str] | None = None, name: str = "load"):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.stderr_path = log_dir / f"{name}-server.stderr.log"
        self.stdout_path = log_dir / f"{name}-server.stdout.log"
        self.startup_seconds = 0.0
        command = [
            sys.executable, "-m", "streamlit", "run", "app.py",
            "--server.headless", "true",
            "--server.address", "127.0.0.1",  # loopback only (and no lookup of a public IP to print)
            "--server.port", str(self.port),
            "--server.fileWatcherType", "none",  # measure serving, not reloading files other people edit
            "--browser.gatherUsageStats", "false",
        ]  # fmt: skip
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                command, cwd=root, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})}
            )

    def wait_healthy(self, timeout: float) -> float:
        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.stderr()}")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                conn.request("GET", "/_stcore/health")
                response = conn.getresponse()
                if response.status == 200 and response.read().strip() == b"ok":
                    return time.perf_counter() - start
            except OSError:
                pass
            finally:
                conn.close()
            time.sleep(0.2)
        raise TimeoutError(f"/_stcore/health not ok within {timeout:.0f} s:\n{self.stderr()}")

    def memory_mb(self) -> dict[str, float]:
        """VmRSS and VmHWM (peak RSS) of the server process, in MB."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        fields = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.MULTILINE))
        return {name: int(kb) / 1024 for name, kb in fields.items()}

    def cpu_seconds(self) -> float:
        stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        utime, stime = stat.rsplit(")", 1)[1].split()[11:13]
        return (int(utime) + int(stime)) / os.sysconf("SC_CLK_TCK")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def trainings(self) -> list[dict]:
        """Every training the server logged: its recipe keys, seconds, and when it ended (the log's clock)."""
        return [
            {"keys": m["keys"].split(), "seconds": float(m["seconds"]), "at": m["at"]}
            for m in TRAINED.finditer(self.stderr())
        ]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
