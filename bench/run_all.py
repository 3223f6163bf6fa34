"""Run every benchmark in `bench/` in turn (each prints its own table); `make bench` calls this."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHES = ["bench_kb.py", "bench_search.py", "bench_ask.py", "bench_http.py"]


def main() -> int:
    here = Path(__file__).resolve().parent
    failed = 0
    for name in BENCHES:
        print(f"\n===== {name} =====", flush=True)
        failed += subprocess.call([sys.executable, str(here / name), *sys.argv[1:]]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
