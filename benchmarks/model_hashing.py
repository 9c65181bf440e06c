"""Hashing benchmark: model_scan's streamed SHA-256 against coreutils `sha256sum`, side by side.

In one run, on this host, with a warm page cache (each file is read once before timing):
  1. write a store of big files under --dir (default: a temporary directory next to the
     checkout, on disk; total --total-mib, default 1024 MiB, in --files files, default 4);
  2. time `sha256sum` over the files (one process, sequential: what an admin would run), and
     `sha256sum` once per file in parallel (xargs -P <workers>), the fair parallel comparison;
  3. time model_store.scan_store (the module's engine: walk, format sniffing, hashing), with 1
     worker and with --workers workers (default: 2, so the parallel path is measured even on 2 CPUs);
  4. check that every digest agrees, print MB/s (10^6 bytes per second) of each and the ratios.

Timings are the median of --repeat runs (default 3). No asserts on timing. Files are removed at the end.

Run from the repository root:   python3 benchmarks/model_hashing.py [--total-mib 1024] [--files 4]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "plugins", "module_utils"))

import model_store  # noqa: E402  (top-level import of the collection's module_utils, as the verifier does)


def write_files(directory, total_mib, count):
    size = total_mib // count
    block = os.urandom(1 << 20)
    paths = []
    for index in range(count):
        path = os.path.join(directory, "shard-%02d.bin" % index)
        with open(path, "wb") as handle:
            for _block in range(size):
                handle.write(block[index:] + block[:index])  # different content per file
        paths.append(path)
    return paths


def warm(paths):
    for path in paths:
        with open(path, "rb") as handle:
            while handle.read(8 << 20):
                pass


def timed(func, repeat):
    times, result = [], None
    for _run in range(repeat):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total-mib", type=int, default=1024)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where to write the files (default: a temporary directory in .cache/)")
    args = parser.parse_args()
    sha256sum = shutil.which("sha256sum")
    if not sha256sum:
        sys.exit("sha256sum (coreutils) is required")
    base = args.dir or os.path.join(REPO, ".cache")
    os.makedirs(base, exist_ok=True)
    directory = tempfile.mkdtemp(prefix="model-hashing.", dir=base)
    try:
        paths = write_files(directory, args.total_mib, args.files)
        total = sum(os.path.getsize(p) for p in paths)
        warm(paths)

        def coreutils():
            out = subprocess.run([sha256sum] + paths, check=True, capture_output=True, text=True).stdout
            return dict((line.split()[1], line.split()[0]) for line in out.splitlines())

        def coreutils_parallel():
            out = subprocess.run(["xargs", "-0", "-n", "1", "-P", str(args.workers), sha256sum],
                                 input="\0".join(paths), check=True, capture_output=True, text=True).stdout
            return dict((line.split()[1], line.split()[0]) for line in out.splitlines())

        def ours(workers):
            result = model_store.scan_store(directory, workers=workers)
            return dict((os.path.join(directory, r["path"]), r["sha256"]) for r in result["records"])

        rows = []
        t_cu, d_cu = timed(coreutils, args.repeat)
        rows.append(("sha256sum (1 process)", t_cu, d_cu))
        t_cup, d_cup = timed(coreutils_parallel, args.repeat)
        rows.append(("sha256sum x%d (xargs -P)" % args.workers, t_cup, d_cup))
        t_1, d_1 = timed(lambda: ours(1), args.repeat)
        rows.append(("model_scan, 1 worker", t_1, d_1))
        t_n, d_n = timed(lambda: ours(args.workers), args.repeat)
        rows.append(("model_scan, %d workers" % args.workers, t_n, d_n))
        agree = all(d == d_cu for _name, _t, d in rows)

        print("host: %d CPUs, %s; %d files, %.0f MB total, warm cache, median of %d"
              % (os.cpu_count() or 0, os.uname().machine, len(paths), total / 1e6, args.repeat))
        print("%-28s %9s %9s" % ("tool", "seconds", "MB/s"))
        for name, seconds, _digests in rows:
            print("%-28s %9.3f %9.1f" % (name, seconds, total / 1e6 / seconds))
        print("ratio model_scan 1 worker / sha256sum 1 process: %.2fx" % (t_cu / t_1))
        print("ratio model_scan %d workers / sha256sum x%d:      %.2fx" % (args.workers, args.workers, t_cup / t_n))
        print("ratio model_scan %d workers / sha256sum 1 process: %.2fx" % (args.workers, t_cu / t_n))
        print("digests agree: %s" % agree)
        return 0 if agree else 1
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
