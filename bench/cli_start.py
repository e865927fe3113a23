"""How long does the ``siyu`` command take to start, next to a bare ``python -c pass``?

Target (durable-kernel issue, faster CLI start): ``siyu --version`` and ``siyu livecode list``
finish in under 1 s. Cases, each a fresh ``python -m siyu`` process:

- **version**: ``siyu --version`` (loads every plugin to list the commands, sets none up);
- **plugins**: ``siyu plugins`` (lists plugins and hooks, no database);
- **livecode_list**: ``siyu --db FILE livecode list`` on a fresh, empty SQLite workspace made
  once before the runs (opens it: the up-to-date check without Alembic, plain rows).

The target line after the table checks the two commands the issue names; the JSON summary
(last line) is the slowest case, ``met`` when every case is under 1 s.

The baseline is ``python -c pass`` with the same interpreter and environment, timed next to
each case (alternating, the order flipped every run) after one warm-up of both. Bytecode is
cached as for an installed package: the children write and read ``.pyc`` files under a
temporary ``PYTHONPYCACHEPREFIX`` (the warm-up fills it), even when the caller sets
``PYTHONDONTWRITEBYTECODE``, so no run pays for compiling siyu's sources.

Answers are checked on every run: each command exits 0 and prints what it should (the version
string, the built-in plugins, the empty-list message).

    python bench/cli_start.py              # 7 timed runs of each case
    python bench/cli_start.py --repeat 3   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import siyu

TARGET_S = 1.0
#: The cases the target names: ``siyu --version`` and ``siyu livecode list``.
TARGETED = ("version", "livecode_list")
BASELINE = ("-c", "pass")

#: Run in a child after a command, to show what the start imported (untimed).
PROBE = ("import json, sys\nfrom siyu.cli import main\ncode = main(sys.argv[1:])\n"
         "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)\n"
         "sys.exit(code)")
WATCHED = ("panel", "bokeh", "pandas", "alembic", "sqlmodel", "httpx", "tornado", "segno",
           "openpyxl", "cryptography")


@dataclass
class Case:
    """One command to time, and how to tell that its output is right."""

    name: str
    argv: list[str]
    expect: str
    exact: bool = True
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    base_wall: list[float] = field(default_factory=list)
    loaded: list[str] = field(default_factory=list)

    def check(self, result: subprocess.CompletedProcess) -> None:
        """Exit with ``WRONG ANSWER`` unless the command succeeded and printed the answer."""
        out = result.stdout.strip()
        right = out == self.expect if self.exact else all(
            part in out for part in self.expect.split("|"))
        if result.returncode != 0 or not right:
            print(f"WRONG ANSWER: `siyu {' '.join(self.argv)}` exited {result.returncode} and "
                  f"printed {out[-500:]!r} (stderr {result.stderr.strip()[-500:]!r}); expected "
                  f"{self.expect!r}", file=sys.stderr)
            raise SystemExit(1)


def _no_codes_text() -> str:
    """What ``siyu livecode list`` prints for an empty workspace in the default language
    (the timed processes have no SIYU_* settings, so they speak Chinese)."""
    from siyu.core.i18n import DEFAULT_LANGUAGE, translator, use_language

    with use_language(DEFAULT_LANGUAGE):
        return translator("siyu.plugins.livecodes")("no live codes")


NO_CODES = _no_codes_text()


def child_env(pycache: Path) -> dict[str, str]:
    """The environment of every timed process: no SIYU_* settings, bytecode cached."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIYU_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def timed(argv: list[str], cwd: Path, env: dict[str, str]
          ) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run ``python *argv``; return its wall time, its CPU time (user + system) and result."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, *argv], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=300)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, result


def run_baseline(cwd: Path, env: dict[str, str]) -> float:
    """One ``python -c pass``: its wall time (it must exit 0)."""
    wall, _, result = timed(list(BASELINE), cwd, env)
    if result.returncode != 0:
        print(f"WRONG ANSWER: python -c pass exited {result.returncode}", file=sys.stderr)
        raise SystemExit(1)
    return wall


def run_ours(case: Case, cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """One ``python -m siyu ...`` of ``case``, checked: its wall and CPU time."""
    wall, cpu, result = timed(["-m", "siyu", *case.argv], cwd, env)
    case.check(result)
    return wall, cpu


def probe(case: Case, cwd: Path, env: dict[str, str]) -> list[str]:
    """The watched packages the command imported (one extra, untimed run)."""
    result = subprocess.run([sys.executable, "-c", PROBE, *case.argv], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=300)
    case.check(result)
    modules = set(json.loads(result.stderr.strip().splitlines()[-1]))
    return [name for name in WATCHED if name in modules]


def make_cases(db: Path) -> list[Case]:
    """The three commands the issue names, with their expected output."""
    return [Case("version", ["--version"], f"siyu {siyu.__version__}"),
            Case("plugins", ["--db", str(db), "plugins"], "livecodes|wecom|built-in",
                 exact=False),
            Case("livecode_list", ["--db", str(db), "livecode", "list"], NO_CODES)]


def measure(cases: list[Case], repeat: int, cwd: Path, env: dict[str, str]) -> None:
    """Warm up, then time each case next to the baseline, alternating."""
    for case in cases:
        run_ours(case, cwd, env)
        run_baseline(cwd, env)
        case.loaded = probe(case, cwd, env)
    for run in range(1, repeat + 1):
        for case in cases:
            if run % 2:
                base = run_baseline(cwd, env)
                wall, cpu = run_ours(case, cwd, env)
            else:
                wall, cpu = run_ours(case, cwd, env)
                base = run_baseline(cwd, env)
            case.wall.append(wall)
            case.cpu.append(cpu)
            case.base_wall.append(base)
            print(f"  run {run}/{repeat} {case.name:<14} ours {wall:6.3f} s (cpu {cpu:5.3f} s)"
                  f"   python -c pass {base:6.3f} s", flush=True)


def summary(case: Case, repeat: int) -> dict:
    """The JSON line of one case."""
    ours = statistics.median(case.wall)
    base = statistics.median(case.base_wall)
    return {"bench": "cli_start", "case": case.name, "ours_s": round(ours, 3),
            "baseline": "python -c pass", "baseline_s": round(base, 3),
            "ratio": round(ours / base, 2), "net_s": round(ours - base, 3),
            "cpu_s": round(statistics.median(case.cpu), 3), "target": "ours < 1 s",
            "met": ours < TARGET_S, "command": "siyu " + " ".join(
                "FILE" if arg.endswith(".db") else arg for arg in case.argv),
            "imports": case.loaded, "size": {"runs": repeat}}


def print_table(lines: list[dict]) -> None:
    """The readable table: medians, the baseline beside them, and what each start imported."""
    print()
    print(f"  {'case':<15}{'ours s':>8}{'cpu s':>8}{'python -c pass s':>18}{'net s':>8}"
          f"{'ratio':>8}  {'< 1 s':<6} imports (of {', '.join(WATCHED[:3])}, ...)")
    for line in lines:
        print(f"  {line['case']:<15}{line['ours_s']:>8.3f}{line['cpu_s']:>8.3f}"
              f"{line['baseline_s']:>18.3f}{line['net_s']:>8.3f}{line['ratio']:>8.1f}  "
              f"{'met' if line['met'] else 'NOT':<6} {', '.join(line['imports']) or '-'}")
    print()
    print("  medians; net = ours - python -c pass; ratio = ours / python -c pass; cpu = user +"
          " system of the siyu process")
    print("  answers checked on every run: exit 0, the version string, the plugin list, "
          "'no live codes'")
    print()
    targeted = [line for line in lines if line["case"] in TARGETED]
    figures = ", ".join(f"{line['command']} {line['ours_s']:.3f} s" for line in targeted)
    met = all(line["met"] for line in targeted)
    print(f"  target: siyu --version and siyu livecode list each < {TARGET_S:g} s (median): "
          f"{'met' if met else 'NOT met'} ({figures})")
    print()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the table, the target line and the JSON lines (0 unless it
    could not run or an answer was wrong)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed runs of each case (7)")
    args = parser.parse_args(argv)
    if args.repeat < 3:
        parser.error("--repeat must be at least 3 (the median of fewer runs says little)")

    with tempfile.TemporaryDirectory(prefix="siyu-cli-start-") as tmp:
        folder = Path(tmp)
        db = folder / "shop.db"
        siyu.open(db, load_entry_points=False).close()  # fresh, migrated, empty
        env = child_env(folder / "pycache")
        cases = make_cases(db)
        measure(cases, args.repeat, folder, env)

    lines = [summary(case, args.repeat) for case in cases]
    print_table(lines)
    for line in lines:
        print(json.dumps(line, ensure_ascii=False))
    # The target is absolute (< 1 s), so the summary is the slowest case, not the largest
    # ratio: a case whose `python -c pass` happened to be quick is not further from 1 s.
    worst = max(lines, key=lambda line: line["ours_s"])
    print(json.dumps({**worst, "case": "all", "worst_case": worst["case"],
                      "met": all(line["met"] for line in lines)}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
