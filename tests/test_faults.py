"""Fault injection through the real CLI: an ingest killed at each commit phase, a full disk, a damaged KB.

Each case runs `python -m kb` as a subprocess, as a user or an orchestrator would, and then checks that
nothing was lost or half-written: the KB is exactly its previous version (or, killed after the commit
point, exactly the new one), the next open leaves no stray file, `trialkb build` gives the same
documents and a re-run succeeds. The kills use the ``TRIALKB_FAULT_POINT`` hook (`search.storage`).
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import CORPUS, ROOT, SEED, SHARED_RECORD

NEW_DOCUMENT = next(path for path in CORPUS if path.name == "e1910-news.txt")
COUNT_QUADS = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
BEFORE_COMMIT = ("after-sources", "after-snapshot", "during-index", "before-manifest")
AFTER_COMMIT = "after-manifest"


def trialkb(
    home: Path,
    *args: str,
    env: dict[str, str] | None = None,
    preexec: Callable[[], None] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """`trialkb -q --home HOME ARGS...` in a new process."""
    environment = {k: v for k, v in os.environ.items() if k != "TRIALKB_FAULT_POINT"}
    environment.update(HF_HUB_OFFLINE="1", **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "kb", "-q", "--home", str(home), *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        timeout=timeout,
        preexec_fn=preexec,
    )


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a failed command printed on standard error (failing the test if there are more)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    return lines[0]


@dataclass(frozen=True)
class KBState:
    """What a user can observe of a KB version."""

    manifest: bytes
    documents: frozenset[str]
    quads: int

    @classmethod
    def of(cls, home: Path) -> KBState:
        """Read through the CLI (which is also the "next open" that clears leftovers)."""
        result = trialkb(home, "sparql", COUNT_QUADS, "--format", "csv")
        assert result.returncode == 0, result.stderr
        manifest = (home / "manifest.json").read_bytes()
        documents = frozenset(entry["path"] for entry in json.loads(manifest)["documents"])
        return cls(manifest, documents, int(result.stdout.split()[-1]))


def committed(home: Path) -> tuple[frozenset[str], int]:
    """The documents and quad count the manifest records (a cheaper look than `KBState.of`)."""
    manifest = json.loads((home / "manifest.json").read_text(encoding="utf-8"))
    return frozenset(entry["path"] for entry in manifest["documents"]), int(manifest["triples"])


def strays(home: Path) -> list[str]:
    """Files the committed manifest does not account for (the index folder's inside is its own)."""
    manifest = json.loads((home / "manifest.json").read_text(encoding="utf-8"))
    expected = {".lock", "manifest.json", manifest["snapshot"], "sources", "index", "registry"}
    expected |= {f"sources/{entry['path']}" for entry in manifest["documents"]}
    expected |= {f"registry/{nct_id}.json" for nct_id in manifest["registry_records"]}
    found = {path.relative_to(home).as_posix() for path in home.rglob("*")}
    return sorted(name for name in found if name not in expected and not name.startswith("index/"))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def umask_022() -> None:
    os.umask(0o022)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A KB of the seed, ingested under umask 022 (the previous version in every case below)."""
    home = tmp_path_factory.mktemp("faults") / "base"
    result = trialkb(home, "ingest", str(SEED), preexec=umask_022)
    assert result.returncode == 0, result.stderr
    return home


@pytest.fixture(scope="module")
def base_state(base: Path) -> KBState:
    return KBState.of(base)


@pytest.fixture
def home(base: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "kb"
    shutil.copytree(base, copy)
    return copy


def test_ingest_writes_files_with_the_umask_modes(base: Path) -> None:
    """Under umask 022 every file is 0644 and every folder 0755 (mkstemp alone would give 0600)."""
    modes = {
        path.relative_to(base).as_posix(): path.stat().st_mode & 0o777 for path in [base, *base.rglob("*")]
    }
    wrong = {
        name: oct(mode)
        for name, mode in modes.items()
        if mode != (0o755 if (base / name).is_dir() else 0o644)
    }
    assert wrong == {}
    assert {"manifest.json", f"sources/{SEED.name}", "index/vectors.faiss"} <= set(modes)


@pytest.mark.parametrize("point", [*BEFORE_COMMIT, AFTER_COMMIT])
def test_ingest_killed_at_each_phase_loses_nothing(point: str, home: Path, base_state: KBState) -> None:
    killed = trialkb(home, "ingest", str(NEW_DOCUMENT), env={"TRIALKB_FAULT_POINT": point})
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    after = KBState.of(home)  # the next open
    if point == AFTER_COMMIT:
        # Killed after the commit point: the new version, whole, its staged source rolled forward.
        assert after.documents == base_state.documents | {NEW_DOCUMENT.name}
        assert after.quads > base_state.quads
        assert sha256(home / "sources" / NEW_DOCUMENT.name) == sha256(NEW_DOCUMENT)
        expected = after
    else:
        assert after == base_state, "the KB must be exactly its previous version"
        assert not (home / "sources" / NEW_DOCUMENT.name).exists()
        expected = base_state
    assert strays(home) == []

    # `build` rebuilds from the sources the manifest lists: the same documents, the same content.
    built = trialkb(home, "build")
    assert built.returncode == 0, built.stderr
    assert committed(home) == (expected.documents, expected.quads)

    rerun = trialkb(home, "ingest", str(NEW_DOCUMENT))
    assert rerun.returncode == 0, rerun.stderr
    assert committed(home)[0] == base_state.documents | {NEW_DOCUMENT.name}
    assert strays(home) == []


def file_size_limit(limit: int) -> Callable[[], None]:
    """A preexec function: writes past ``limit`` bytes fail with EFBIG (SIGXFSZ ignored, not fatal)."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_file_too_large_while_committing_is_one_line_and_changes_nothing(
    home: Path, base_state: KBState
) -> None:
    """The new snapshot (hundreds of kB) passes a 64 kB file-size limit: EFBIG, the KB unchanged."""
    result = trialkb(home, "ingest", str(NEW_DOCUMENT), preexec=file_size_limit(64 * 1024))
    assert result.returncode == 1
    line = error_line(result)
    assert "disk full or file too large" in line and "previous version" in line
    assert KBState.of(home) == base_state
    assert strays(home) == []


def test_file_too_large_while_search_rebuilds_the_index_is_one_line(home: Path, base_state: KBState) -> None:
    """A damaged index is rebuilt by `search`; when that write fails, one line, and the KB is untouched."""
    (home / "index" / "vectors.faiss").write_bytes(b"damaged")
    result = trialkb(home, "search", "complete remission", preexec=file_size_limit(16 * 1024))
    assert result.returncode == 1
    line = error_line(result)
    assert "disk full or file too large" in line and "build" in line
    assert KBState.of(home) == base_state
    assert strays(home) == []
    retried = trialkb(home, "search", "complete remission")
    assert retried.returncode == 0, retried.stderr
    assert "complete remission" in retried.stdout.lower()


def _pages(size: int) -> int:
    return -(-size // 4096) * 4096


@pytest.fixture
def tmpfs_holding(tmp_path: Path) -> Iterator[Callable[[Path, int], Path]]:
    """``tmpfs_holding(kb, headroom)``: a copy of ``kb`` on a tmpfs with ``headroom`` bytes free (root only)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; the file-size-limit tests cover disk-full here")
    point = tmp_path / "tmpfs"
    point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(point)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")

    def holding(kb: Path, headroom: int) -> Path:
        shutil.copytree(kb, point / "kb")
        usage = os.statvfs(point)
        used = (usage.f_blocks - usage.f_bfree) * usage.f_frsize
        size = f"size={used + headroom},remount"
        resized = subprocess.run(["mount", "-o", size, str(point)], capture_output=True, text=True)
        assert resized.returncode == 0, resized.stderr
        return point / "kb"

    yield holding
    subprocess.run(["umount", "-l", str(point)], check=False)


@pytest.fixture(scope="module")
def grown_sizes(base: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, int]:
    """Sizes of the new snapshot and of the new index when the new document is ingested into ``base``."""
    home = tmp_path_factory.mktemp("grown") / "kb"
    shutil.copytree(base, home)
    result = trialkb(home, "ingest", str(NEW_DOCUMENT))
    assert result.returncode == 0, result.stderr
    snapshot = home / json.loads((home / "manifest.json").read_text())["snapshot"]
    index = sum(_pages(path.stat().st_size) for path in (home / "index").rglob("*") if path.is_file())
    return snapshot.stat().st_size, index


@pytest.mark.parametrize("where", ["snapshot", "index"])
def test_disk_full_on_a_small_tmpfs(
    where: str,
    base: Path,
    base_state: KBState,
    grown_sizes: tuple[int, int],
    tmpfs_holding: Callable[[Path, int], Path],
) -> None:
    """ENOSPC proper, on a tmpfs holding the KB and little more: with room for a few pages the new
    snapshot fails; with room for the new source and snapshot but a third of the new index, the index
    (written before the commit point) fails."""
    headroom = 4 * 4096
    if where == "index":
        snapshot, index = grown_sizes
        headroom += _pages(NEW_DOCUMENT.stat().st_size) + _pages(snapshot) + index // 3
    home = tmpfs_holding(base, headroom)
    result = trialkb(home, "ingest", str(NEW_DOCUMENT))
    assert result.returncode == 1, result.stdout
    line = error_line(result)
    assert "No space left on device (disk full or file too large)" in line
    failed_at = "index" if "/kb/index" in line or "/kb/.index.tmp-" in line else "snapshot"
    assert failed_at == where, f"meant to fail in the {where}: {line}"
    assert KBState.of(home) == base_state
    assert strays(home) == []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


COMMANDS: dict[str, tuple[str, ...]] = {
    "ask": ("ask", "What was the complete remission rate?"),
    "search": ("search", "complete remission"),
    "sparql": ("sparql", COUNT_QUADS),
    "validate": ("validate",),
    "export": ("export", "--format", "nq"),
    "link": ("link", "NCT03739814", "--record", str(SHARED_RECORD)),
    "reconcile": ("reconcile", "NCT03739814"),
    "serve": ("serve", "--port", "PORT"),
    "eval": ("eval", str(ROOT / "tests" / "data" / "eval" / "seed_dev_qa.jsonl")),
}


def _damage(home: Path, what: str) -> None:
    snapshot = home / json.loads((home / "manifest.json").read_text())["snapshot"]
    if what == "altered snapshot":
        with snapshot.open("a") as handle:
            handle.write('<https://example.org/a> <https://example.org/b> "c" <https://example.org/g> .\n')
    else:
        (home / "manifest.json").write_text('{"snapshot": "kb-0000.nq", "sha256": ')


@pytest.mark.parametrize("damage", ["altered snapshot", "damaged manifest"])
def test_every_command_refuses_a_damaged_kb_in_one_line(damage: str, home: Path, base_state: KBState) -> None:
    _damage(home, damage)
    # The commands only read, so they run side by side (each is a process start and a failed open).
    environment = dict(os.environ, HF_HUB_OFFLINE="1")
    running = {
        name: subprocess.Popen(
            [sys.executable, "-m", "kb", "-q", "--home", str(home)]
            + [str(_free_port()) if a == "PORT" else a for a in arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
            cwd=ROOT,
        )
        for name, arguments in COMMANDS.items()
    }
    for name, process in running.items():
        try:
            stdout, stderr = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            pytest.fail(f"{name} did not stop on a KB with a {damage}")
        result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
        assert result.returncode != 0, f"{name} exited 0 on a KB with a {damage}"
        line = error_line(result)
        assert f"trialkb --home {home} build" in line, f"{name}: {line}"
        assert ("snapshot" if "snapshot" in damage else "manifest.json") in line, f"{name}: {line}"
    # What the message says to run repairs it.
    repaired = trialkb(home, "build")
    assert repaired.returncode == 0, repaired.stderr
    assert committed(home) == (base_state.documents, base_state.quads)
