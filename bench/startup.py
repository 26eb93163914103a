"""Start-up and ground-truth costs of issue 12, measured side by side in one run.

``python bench/startup.py [--rounds-import 8] [--rounds-pytest 6] [--rounds-ot 3] [--n 2000]
[--d 64] [--out bench/results]`` writes ``startup-<date>.md`` and ``.json``.

Every sample is a fresh interpreter (``subprocess``), with ``PYTHONPATH`` set to this checkout so
the code measured is the code beside this file, and variants are interleaved: each round runs
every variant once, in an order rotated by one each round; ratios are medians of per-round
ratios, so drift of a shared machine cancels.

(a) ``python -c "import torch"`` vs ``python -c "import gp_spec.conformance"`` (target
    <= 1.2x), with ``python -c pass`` and ``import gp_spec`` for context; the modules that
    ``import gp_spec.conformance.pytest_plugin`` (the pytest11 entry point) pulls in.
(b) ``python -m pytest -q`` of a scratch test file in a temporary directory (no conftest, no
    ini), in this environment where gp-spec's pytest11 entry point is installed, with and
    without ``-p no:gp_spec`` (target within 10%).
(c) ``gp_spec.optimal.kantorovich`` vs ``ot.emd2(a, b, ot.dist(x, y, metric="euclidean"))`` on
    the same seeded points (n = m = 2000, d = 64; one BLAS/OpenMP thread each): wall time of the
    call and the child's peak RSS during the call above its RSS before it (``VmHWM`` reset through
    ``/proc/self/clear_refs``, else ``ru_maxrss``); targets time <= 1.2x and memory O(n m).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

IMPORTS = {
    "python -c pass": "pass",
    "import torch": "import torch",
    "import gp_spec": "import gp_spec",
    "import gp_spec.conformance": "import gp_spec.conformance",
}

PLUGIN_PROBE = """
import sys, time
t0 = time.perf_counter()
import gp_spec.conformance.pytest_plugin
import gp_spec
heavy = ["torch", "numpy", "scipy", "scipy.stats", "scipy.integrate", "ot", "sklearn",
         "matplotlib", "hypothesis"]
print({"gp_spec_file": gp_spec.__file__, "seconds": time.perf_counter() - t0,
       "modules": len(sys.modules), "heavy": [m for m in heavy if m in sys.modules]})
"""

WITH_PLUGIN = "python -m pytest -q -p no:cacheprovider test_scratch.py"
WITHOUT_PLUGIN = f"{WITH_PLUGIN} -p no:gp_spec"
SCRATCH_TEST = '''
def test_one():
    assert 1 + 1 == 2
'''

OT_CHILD = """
import json, resource, sys, time
import numpy as np, ot, torch
import gp_spec.optimal
variant, n, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
x = rng.standard_normal((n, d))
y = rng.standard_normal((n, d)) + 1.0
a = np.full(n, 1.0 / n)
iters = max(100_000, 50 * n * n)  # kantorovich's default cap, given to emd2 as well
def rss_kib(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:  # reset the peak RSS (VmHWM) to the current RSS (Linux >= 4.0)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
except OSError:
    pass
before = rss_kib("VmRSS:")
t0 = time.perf_counter()
if variant == "kantorovich":
    w1 = gp_spec.optimal.kantorovich(torch.from_numpy(x), torch.from_numpy(y)).w1
else:
    w1 = float(ot.emd2(a, a, ot.dist(x, y, metric="euclidean"), numItermax=iters))
seconds = time.perf_counter() - t0
after = rss_kib("VmHWM:")
print(json.dumps({"w1": w1, "seconds": seconds, "rss_before_kib": before,
                  "rss_peak_kib": after}))
"""


def _env(threads: int | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.pop("PYTEST_ADDOPTS", None)
    if threads is not None:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[var] = str(threads)
    return env


def _run(argv: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    """Wall seconds and stdout of one fresh child; raises if it fails."""
    t0 = time.perf_counter()
    out = subprocess.run(list(argv), cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {out.returncode}:\n{out.stderr[-2000:]}")
    return seconds, out.stdout


def _interleave(
    variants: dict[str, Callable[[], Any]], rounds: int, label: str
) -> dict[str, list[Any]]:
    """Run every variant once per round, rotating the order; results per variant."""
    names = list(variants)
    results: dict[str, list[Any]] = {k: [] for k in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            results[name].append(variants[name]())
        print(f"  {label}: round {r + 1}/{rounds}", file=sys.stderr, flush=True)
    return results


def _ratios(num: list[float], den: list[float]) -> dict[str, Any]:
    per_round = [a / b if b > 0 else float("inf") for a, b in zip(num, den, strict=True)]
    return {"median": statistics.median(per_round), "min": min(per_round),
            "max": max(per_round), "per_round": per_round}


def measure_imports(rounds: int, tmp: Path) -> dict[str, Any]:
    env = _env()

    def child(code: str) -> Callable[[], float]:
        return lambda: _run([sys.executable, "-c", code], tmp, env)[0]

    times = _interleave({k: child(code) for k, code in IMPORTS.items()}, rounds, "imports")
    _, probe = _run([sys.executable, "-c", PLUGIN_PROBE], tmp, env)
    return {
        "rounds": rounds,
        "seconds": times,
        "median_seconds": {k: statistics.median(v) for k, v in times.items()},
        "conformance_over_torch": _ratios(times["import gp_spec.conformance"],
                                          times["import torch"]),
        "gp_spec_over_torch": _ratios(times["import gp_spec"], times["import torch"]),
        "plugin_entry_point": eval(probe),  # a dict literal printed by PLUGIN_PROBE
    }


def _plugin_installed() -> bool:
    from importlib.metadata import entry_points

    return any(e.name == "gp_spec" for e in entry_points(group="pytest11"))


def measure_pytest(rounds: int, tmp: Path) -> dict[str, Any]:
    if not _plugin_installed():
        return {"skipped": "gp-spec's pytest11 entry point is not installed in this environment"}
    (tmp / "test_scratch.py").write_text(SCRATCH_TEST)
    env = _env()
    base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_scratch.py"]
    variants = {
        WITH_PLUGIN: lambda: _run(base, tmp, env)[0],
        WITHOUT_PLUGIN: lambda: _run([*base, "-p", "no:gp_spec"], tmp, env)[0],
    }
    times = _interleave(variants, rounds, "pytest")
    with_plugin, without = times[WITH_PLUGIN], times[WITHOUT_PLUGIN]
    return {
        "rounds": rounds,
        "seconds": times,
        "median_seconds": {k: statistics.median(v) for k, v in times.items()},
        "with_over_without": _ratios(with_plugin, without),
    }


def measure_transport(rounds: int, n: int, d: int, tmp: Path) -> dict[str, Any]:
    env = _env(threads=1)

    def child(variant: str) -> Callable[[], dict[str, Any]]:
        def run() -> dict[str, Any]:
            _, out = _run([sys.executable, "-c", OT_CHILD, variant, str(n), str(d)], tmp, env)
            rec: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
            rec["peak_above_before_mib"] = (rec["rss_peak_kib"] - rec["rss_before_kib"]) / 1024
            return rec
        return run

    recs = _interleave({"kantorovich": child("kantorovich"), "ot.emd2": child("ot.emd2")},
                       rounds, "kantorovich vs emd2")
    k, e = recs["kantorovich"], recs["ot.emd2"]
    w1_gap = max(abs(a["w1"] - b["w1"]) for a, b in zip(k, e, strict=True))
    return {
        "rounds": rounds, "n": n, "m": n, "d": d, "threads": 1,
        "records": recs,
        "w1": k[0]["w1"], "max_w1_difference": w1_gap,
        "median_seconds": {v: statistics.median(r["seconds"] for r in recs[v]) for v in recs},
        "median_peak_above_before_mib": {
            v: statistics.median(r["peak_above_before_mib"] for r in recs[v]) for v in recs
        },
        "one_n_by_m_float64_mib": n * n * 8 / 2**20,
        "time_ratio": _ratios([r["seconds"] for r in k], [r["seconds"] for r in e]),
        "memory_ratio": _ratios([r["peak_above_before_mib"] for r in k],
                                [r["peak_above_before_mib"] for r in e]),
    }


def machine(name: str | None) -> dict[str, Any]:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for mod in ("torch", "numpy", "scipy", "ot", "pytest"):
        try:
            versions[mod] = __import__(mod).__version__
        except ImportError:
            versions[mod] = "absent"
    return {
        "name": name or f"{cpu}, {os.cpu_count()} logical CPUs",
        "platform": platform.platform(), "python": platform.python_version(),
        "versions": versions, "load_average_start": os.getloadavg(),
    }


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def markdown(res: dict[str, Any]) -> str:
    imp, pyt, ot_ = res["imports"], res["pytest"], res["transport"]
    mach = res["machine"]
    lines = [
        f"# Start-up and ground-truth costs ({res['date']})",
        "",
        f"Machine: {mach['name']}; {mach['platform']}; Python {mach['python']}; "
        + ", ".join(f"{k} {v}" for k, v in mach["versions"].items())
        + f". Load average {mach['load_average_start'][0]:.2f} at the start, "
        f"{res['load_average_end'][0]:.2f} at the end. Command: "
        f"`{' '.join(['python bench/startup.py', *res['argv']])}`.",
        "",
        f"## (a) Import time, fresh interpreters, {imp['rounds']} interleaved rounds",
        "",
        "| command | median s |",
        "| --- | --- |",
        *[f"| `python -c \"{IMPORTS[k]}\"` | {v:.3f} |" for k, v in imp["median_seconds"].items()],
        "",
        f"`import gp_spec.conformance` / `import torch`: median per-round ratio "
        f"**{imp['conformance_over_torch']['median']:.2f}** "
        f"[{imp['conformance_over_torch']['min']:.2f}, {imp['conformance_over_torch']['max']:.2f}]"
        f" (target <= 1.2: {_verdict(imp['conformance_over_torch']['median'] <= 1.2)}); "
        f"`import gp_spec` / `import torch`: {imp['gp_spec_over_torch']['median']:.2f}.",
        "",
        f"`import gp_spec.conformance.pytest_plugin` (the pytest11 entry point) loads "
        f"{imp['plugin_entry_point']['modules']} modules in "
        f"{imp['plugin_entry_point']['seconds']:.2f} s, among them: "
        f"{', '.join(imp['plugin_entry_point']['heavy']) or 'none of the heavy ones'} "
        f"(gp_spec from `{imp['plugin_entry_point']['gp_spec_file']}`).",
        "",
    ]
    if "skipped" in pyt:
        lines += ["## (b) pytest start-up", "", f"Skipped: {pyt['skipped']}.", ""]
    else:
        r = pyt["with_over_without"]
        lines += [
            f"## (b) pytest of a one-test scratch file, {pyt['rounds']} interleaved rounds",
            "",
            "| command | median s |",
            "| --- | --- |",
            *[f"| `{k}` | {v:.3f} |" for k, v in pyt["median_seconds"].items()],
            "",
            f"with plugin / `-p no:gp_spec`: median per-round ratio **{r['median']:.2f}** "
            f"[{r['min']:.2f}, {r['max']:.2f}] (target <= 1.10: {_verdict(r['median'] <= 1.10)}).",
            "",
        ]
    t, mem = ot_["time_ratio"], ot_["memory_ratio"]
    lines += [
        f"## (c) kantorovich vs ot.emd2, n = m = {ot_['n']}, d = {ot_['d']}, "
        f"{ot_['rounds']} interleaved rounds, one thread",
        "",
        "| variant | median s | median peak RSS above start, MiB |",
        "| --- | --- | --- |",
        *[f"| `{v}` | {ot_['median_seconds'][v]:.2f} | "
          f"{ot_['median_peak_above_before_mib'][v]:.0f} |" for v in ot_["median_seconds"]],
        "",
        f"Time kantorovich / emd2: median per-round ratio **{t['median']:.2f}** "
        f"[{t['min']:.2f}, {t['max']:.2f}] (target <= 1.2: {_verdict(t['median'] <= 1.2)}). "
        f"Peak memory ratio {mem['median']:.2f}; one n x m float64 matrix is "
        f"{ot_['one_n_by_m_float64_mib']:.1f} MiB (an n x m x d array would be "
        f"{ot_['one_n_by_m_float64_mib'] * ot_['d']:.0f} MiB). W1 = {ot_['w1']:.12g} in both "
        f"(largest difference {ot_['max_w1_difference']:.2g}).",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds-import", type=int, default=8)
    parser.add_argument("--rounds-pytest", type=int, default=6)
    parser.add_argument("--rounds-ot", type=int, default=3)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--d", type=int, default=64)
    parser.add_argument("--machine", default=None, help="name the machine (default: CPU model)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    res: dict[str, Any] = {
        "date": datetime.date.today().isoformat(),
        "argv": list(sys.argv[1:] if argv is None else argv),
        "machine": machine(args.machine),
    }
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        res["imports"] = measure_imports(args.rounds_import, tmp)
        res["pytest"] = measure_pytest(args.rounds_pytest, tmp)
        res["transport"] = measure_transport(args.rounds_ot, args.n, args.d, tmp)
    res["load_average_end"] = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"startup-{res['date'].replace('-', '')}"
    stem.with_suffix(".json").write_text(json.dumps(res, indent=2) + "\n")
    text = markdown(res)
    stem.with_suffix(".md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
