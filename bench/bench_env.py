"""bench_env.py — where a benchmark result was measured, for the "environment" object every
bench/ script writes at the top level of its JSON (bench/report prints it under each table):
the git revision (with -dirty for uncommitted changes), the CPU, the OpenBLAS core type
OpenBLAS selected in this environment (OPENBLAS_CORETYPE, or its own choice), the Linux
kernel, its transparent-huge-page mode and the date. Python 3 standard library only."""
import ctypes
import ctypes.util
import datetime
import os
import platform
import subprocess


def _git_revision(root):
    """HEAD's abbreviated hash, + "-dirty" when tracked files other than bench/results/ (which
    the benchmarks themselves rewrite) differ from it."""
    try:
        rev = subprocess.run(["git", "-C", root, "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no",
                                "--", ".", ":(exclude)bench/results"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def _cpu():
    try:
        with open("/proc/cpuinfo") as fh:
            info = {}
            for line in fh:
                if ":" in line:
                    k, v = line.split(":", 1)
                    info.setdefault(k.strip(), v.strip())
        return "%s (family %s model %s), %d vCPU" % (info.get("model name", "?"), info.get("cpu family", "?"),
                                                     info.get("model", "?"), os.cpu_count() or 0)
    except OSError:
        return None


def _openblas_core():
    for name in ("libopenblas.so.0", ctypes.util.find_library("openblas")):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return lib.openblas_get_corename().decode()
        except (OSError, AttributeError):
            continue
    return None


def _thp():
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as fh:
            return fh.read().strip()
    except OSError:
        return None


def environment(root):
    return {
        "git_revision": _git_revision(root),
        "cpu": _cpu(),
        "openblas_core": _openblas_core(),
        "openblas_coretype_env": os.environ.get("OPENBLAS_CORETYPE"),
        "kernel": platform.release(),
        "transparent_hugepage": _thp(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


if __name__ == "__main__":
    import json
    import sys
    print(json.dumps(environment(sys.argv[1] if len(sys.argv) > 1 else "."), indent=1))
