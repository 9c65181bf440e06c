"""Scanner comparison: model_scan's verdicts against picklescan, modelscan and fickling (PyPI).

Two corpora (``--corpus bypass|generated|both``, default both):
  generated  tests/unit/model_corpus.py: benign and malicious pickles in protocols 0-5, os.system via
             REDUCE, exec/eval, subprocess, STACK_GLOBAL through the memo, getattr chains, nested
             pickles, PyTorch zip and legacy checkpoints, numpy object arrays, joblib, safetensors, GGUF.
  bypass     tests/unit/bypass_corpus.py (issue #19): public bypasses of these scanners, by class
             (loader parity, deny list, text search, crashes, compression) plus real benign dumps made
             with scikit-learn/joblib/numpy (tests/unit/fixtures/models/real/) and baseline cases.
Nothing is downloaded but the scanners, installed from PyPI, pinned, with their optional extras
(py7zr for picklescan's and fickling's 7z support, h5py for modelscan's Keras .h5 check), into their
own cached virtualenv (.cache/model-scanners-venv), so the project's venv stays small. The same venv
holds scikit-learn and joblib for tests/unit/fixtures/models/real/make_real.py.

For each file: the expected verdict (what loading the file would do), ours and each tool's, mapped to
the same words:
  malicious   picklescan: a "dangerous" global; modelscan: a CRITICAL or HIGH issue;
              fickling: LIKELY_UNSAFE, LIKELY_OVERTLY_MALICIOUS or OVERTLY_MALICIOUS
  suspicious  picklescan: a "suspicious" global or a parse error; modelscan: MEDIUM/LOW or a parse error;
              fickling: POSSIBLY_UNSAFE or SUSPICIOUS (its parse errors are SUSPICIOUS)
  clean       nothing reported (fickling: LIKELY_SAFE)
  skipped     the tool did not look at the file (name not in its list of extensions, format unsupported;
              fickling: zips are read with scan_zip_archive, which looks at .pkl/.pickle/.bin members
              only, other files with scan_file when their name is a pickle-family one)
  error       the tool crashed on the file
A verdict is right when it is "malicious" for a malicious file, "suspicious" or "malicious" for a
suspicious one, and "clean" or "skipped" for a benign one. "Errored" counts files where the tool
crashed or itself reported that it could not read the file (ours: an exception from inspect_stream).

Run from the repository root:   python3 benchmarks/model_scanners.py [--corpus bypass] [--scanner-rev REV]
(first run: a few minutes to install the scanners; needs PyPI). --scanner-rev measures our scanner as
committed at REV (git archive of plugins/module_utils) instead of the working tree.
"""
import argparse
import collections
import importlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "unit"))

from bypass_corpus import write_bypass_corpus  # noqa: E402
from model_corpus import write_corpus  # noqa: E402

# modelscan 0.8.8 calls numpy.lib.format._check_version, gone in numpy 2.x; scikit-learn, scipy and
# joblib are for make_real.py (and give joblib/numpy the versions the real fixtures were made with);
# fickling 0.1.12 imports typing_extensions on Python < 3.12 without declaring it.
SCANNERS = ["picklescan[7z]==1.0.5", "modelscan[h5py]==0.8.8", "fickling==0.1.12", "numpy==1.26.4", "h5py==3.16.0",
            "py7zr==1.1.4", "typing_extensions==4.16.0", "scikit-learn==1.6.1", "scipy==1.17.1", "joblib==1.5.3"]
VENV = os.path.join(REPO, ".cache", "model-scanners-venv")
STAMP = os.path.join(VENV, ".stamp-" + "-".join(s.replace("==", "_").replace("[", "+").replace("]", "") for s in SCANNERS))
TOOLS = ("model_scan", "picklescan 1.0.5", "modelscan 0.8.8", "fickling 0.1.12")

PICKLESCAN_DRIVER = r"""
import json, sys
from picklescan.scanner import scan_file_path, SafetyLevel
out = {}
for path in sys.argv[1:]:
    try:
        result = scan_file_path(path)
    except Exception as exc:  # the tool crashed on this file
        out[path] = {"error": repr(exc)}
        continue
    out[path] = {"dangerous": result.issues_count > 0, "error": bool(result.scan_err),
                 "scanned": result.scanned_files,
                 "suspicious": any(g.safety == SafetyLevel.Suspicious for g in result.globals),
                 "globals": sorted("%s.%s" % (g.module, g.name) for g in result.globals if g.safety != SafetyLevel.Innocuous)}
print(json.dumps(out))
"""


def ensure_venv():
    if os.path.exists(STAMP):
        return
    subprocess.run([sys.executable, "-m", "venv", "--clear", VENV], check=True)
    subprocess.run([os.path.join(VENV, "bin", "pip"), "install", "-q"] + SCANNERS, check=True)
    open(STAMP, "w").close()


FICKLING_DRIVER = r"""
import json, sys, zipfile
import fickling
from fickling.analysis import Severity
PICKLE_NAMES = (".pkl", ".pickle", ".pt", ".pth", ".bin", ".joblib", ".ckpt", ".dat", ".data")
out = {}
for path in sys.argv[1:]:
    try:
        if zipfile.is_zipfile(path):
            results = list(fickling.scan_zip_archive(path, graceful=True).values())
        elif path.lower().endswith(PICKLE_NAMES):
            results = [fickling.scan_file(path, graceful=True)]
        else:
            results = []
    except Exception as exc:  # the tool crashed on this file
        out[path] = {"error": repr(exc)}
        continue
    worst = max([r.severity for r in results], default=Severity.LIKELY_SAFE)
    out[path] = {"scanned": bool(results), "severity": worst.name, "errors": sum(len(r.errors) for r in results)}
print(json.dumps(out))
"""
FICKLING_WORDS = {"LIKELY_SAFE": "clean", "POSSIBLY_UNSAFE": "suspicious", "SUSPICIOUS": "suspicious",
                  "LIKELY_UNSAFE": "malicious", "LIKELY_OVERTLY_MALICIOUS": "malicious", "OVERTLY_MALICIOUS": "malicious"}


def run_driver(driver, paths):
    """Run a tool's driver script in the scanners' venv; its verdicts are the JSON on its last line
    (the tools may print before it)."""
    out = subprocess.run([os.path.join(VENV, "bin", "python"), "-c", driver] + paths,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_fickling(paths):
    verdicts, errored = {}, set()
    for path, res in run_driver(FICKLING_DRIVER, paths).items():
        if "severity" not in res:
            verdicts[path] = "error"
            errored.add(path)
            continue
        if res["errors"]:
            errored.add(path)
        verdicts[path] = FICKLING_WORDS[res["severity"]] if res["scanned"] else "skipped"
    return verdicts, errored


def run_picklescan(paths):
    verdicts, errored = {}, set()
    for path, res in run_driver(PICKLESCAN_DRIVER, paths).items():
        if "dangerous" not in res or res["error"]:
            errored.add(path)
        if "dangerous" not in res:
            verdicts[path] = "error"
        elif res["dangerous"]:
            verdicts[path] = "malicious"
        elif res["suspicious"] or res["error"]:
            verdicts[path] = "suspicious"
        elif not res["scanned"]:
            verdicts[path] = "skipped"
        else:
            verdicts[path] = "clean"
    return verdicts, errored


MODELSCAN_DRIVER = r"""
import copy, json, logging, sys
from modelscan.modelscan import ModelScan
from modelscan.settings import DEFAULT_SETTINGS
logging.disable(logging.CRITICAL)
out = {}
for path in sys.argv[1:]:
    try:
        scan = ModelScan(settings=copy.deepcopy(DEFAULT_SETTINGS))
        scan.scan(path)
        report = scan._generate_results()
    except Exception as exc:  # the tool crashed on this file
        out[path] = {"error": repr(exc)}
        continue
    out[path] = {"severities": [i.get("severity") for i in report.get("issues", [])], "errors": len(report.get("errors", [])),
                 "scanned": report["summary"]["scanned"]["total_scanned"]}
print(json.dumps(out))
"""


def run_modelscan(paths):
    """One ModelScan per file through its Python API: pointed at the corpus directory, modelscan 0.8.8
    stops the whole run at the first file it cannot decompress (c4_torch_corrupt_deflate_sibling.pt)."""
    verdicts, errored = {}, set()
    for path, res in run_driver(MODELSCAN_DRIVER, paths).items():
        if "severities" not in res:
            verdicts[path] = "error"
            errored.add(path)
            continue
        if res["errors"]:
            errored.add(path)
        if any(sev in ("CRITICAL", "HIGH") for sev in res["severities"]):
            verdicts[path] = "malicious"
        elif res["severities"] or res["errors"]:
            verdicts[path] = "suspicious"
        else:
            verdicts[path] = "clean" if res["scanned"] else "skipped"
    return verdicts, errored


def load_our_scanner(rev, work):
    """model_formats from the working tree, or as committed at ``rev`` (git archive of plugins/module_utils)."""
    source = os.path.join(REPO, "plugins", "module_utils")
    if rev:
        source = os.path.join(work, "scanner-rev")
        archive = subprocess.run(["git", "-C", REPO, "archive", rev, "plugins/module_utils"], capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(source, filter="data")
        source = os.path.join(source, "plugins", "module_utils")
    sys.path.insert(0, source)
    return importlib.import_module("model_formats")


def run_ours(model_formats, paths):
    verdicts, errored = {}, set()
    for path in paths:
        try:
            with open(path, "rb") as handle:
                verdicts[path] = model_formats.inspect_stream(handle, os.path.getsize(path))["verdict"]
        except Exception:  # pylint: disable=broad-except  # a crash is a result here
            verdicts[path] = "error"
            errored.add(path)
    return verdicts, errored


def correct(verdict, expect):
    if expect == "malicious":
        return verdict == "malicious"
    if expect == "clean":
        return verdict in ("clean", "skipped")
    return verdict in ("suspicious", "malicious")


def run_tools(model_formats, directory, corpus):
    """{tool: (verdicts by path, errored paths, seconds)} for the four tools on one written corpus."""
    paths = [os.path.join(directory, s.name) for s in corpus]
    runs = (("model_scan", lambda: run_ours(model_formats, paths)), ("picklescan 1.0.5", lambda: run_picklescan(paths)),
            ("modelscan 0.8.8", lambda: run_modelscan(paths)), ("fickling 0.1.12", lambda: run_fickling(paths)))
    results = {}
    for tool, run in runs:
        started = time.perf_counter()
        verdicts, errored = run()
        results[tool] = (verdicts, errored, time.perf_counter() - started)
    return paths, results


def print_files(corpus, paths, results, with_class=False):
    head = "%-44s %-10s" % ("file", "expected") + "".join(" %-11s" % t.split()[0] for t in TOOLS)
    print(head + ("  class" if with_class else "  what"))
    disagreements = 0
    for sample, path in zip(corpus, paths):
        row = [results[t][0][path] for t in TOOLS]
        marks = ["" if correct(v, sample.expect) else "!" for v in row]
        disagreements += any(marks)
        print("%-44s %-10s" % (sample.name, sample.expect) + "".join(" %-11s" % (v + m) for v, m in zip(row, marks))
              + "  " + (sample.cls if with_class else sample.note))
    print("('!' marks a verdict that differs from the expectation; %d of %d files have at least one)" % (disagreements, len(corpus)))


def print_generated_summary(corpus, paths, results):
    print("%-18s %8s %8s %8s %8s %8s %9s" % ("tool", "correct", "missed", "false+", "errored", "of", "seconds"))
    for tool in TOOLS:
        verdicts, errored, seconds = results[tool]
        good = sum(correct(verdicts[p], s.expect) for s, p in zip(corpus, paths))
        missed = sum(s.expect == "malicious" and verdicts[p] != "malicious" for s, p in zip(corpus, paths))
        false_pos = sum(s.expect == "clean" and verdicts[p] in ("suspicious", "malicious") for s, p in zip(corpus, paths))
        print("%-18s %8d %8d %8d %8d %8d %9.2f" % (tool, good, missed, false_pos, len(errored), len(corpus), seconds))


def print_bypass_summary(corpus, paths, results):
    flag = [p for s, p in zip(corpus, paths) if s.expect != "clean"]
    mal = [p for s, p in zip(corpus, paths) if s.expect == "malicious"]
    benign = [p for s, p in zip(corpus, paths) if s.expect == "clean"]
    labels = ["flagged, of %d" % len(flag), "malicious called malicious, of %d" % len(mal), "benign flagged, of %d" % len(benign),
              "files that errored", "seconds"]
    print("%-18s" % "tool" + "".join("  %s" % label for label in labels))
    for tool in TOOLS:
        verdicts, errored, seconds = results[tool]
        cells = [sum(verdicts[p] in ("suspicious", "malicious") for p in flag), sum(verdicts[p] == "malicious" for p in mal),
                 sum(verdicts[p] in ("suspicious", "malicious") for p in benign), len(errored)]
        print("%-18s" % tool + "".join("  %*d" % (len(label), cell) for label, cell in zip(labels, cells))
              + "  %*.2f" % (len(labels[-1]), seconds))
    print()
    print("right verdicts per class:")
    print("%-18s %6s" % ("class", "cases") + "".join(" %11s" % t.split()[0] for t in TOOLS))
    by_class = collections.OrderedDict()
    for sample, path in sorted(zip(corpus, paths), key=lambda item: item[0].cls):
        by_class.setdefault(sample.cls, []).append((sample, path))
    for cls, items in by_class.items():
        print("%-18s %6d" % (cls, len(items)) + "".join(
            " %11d" % sum(correct(results[t][0][p], s.expect) for s, p in items) for t in TOOLS))
    print("%-18s %6d" % ("all", len(corpus)) + "".join(
        " %11d" % sum(correct(results[t][0][p], s.expect) for s, p in zip(corpus, paths)) for t in TOOLS))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--corpus", choices=("bypass", "generated", "both"), default="both")
    parser.add_argument("--scanner-rev", help="measure our scanner as committed at this git revision")
    args = parser.parse_args()
    ensure_venv()
    work = tempfile.mkdtemp(prefix="model-scanners.", dir=os.path.join(REPO, ".cache"))
    try:
        model_formats = load_our_scanner(args.scanner_rev, work)
        print("our scanner: %s" % (("plugins/module_utils at " + args.scanner_rev) if args.scanner_rev else "working tree"))
        if args.corpus in ("generated", "both"):
            directory = os.path.join(work, "generated")
            corpus = write_corpus(directory)
            paths, results = run_tools(model_formats, directory, corpus)
            print("\n== generated corpus (tests/unit/model_corpus.py), %d files\n" % len(corpus))
            print_files(corpus, paths, results)
            print()
            print_generated_summary(corpus, paths, results)
        if args.corpus in ("bypass", "both"):
            directory = os.path.join(work, "bypass")
            corpus = write_bypass_corpus(directory)
            paths, results = run_tools(model_formats, directory, corpus)
            print("\n== bypass corpus (tests/unit/bypass_corpus.py, issue #19), %d files\n" % len(corpus))
            print_files(corpus, paths, results, with_class=True)
            print()
            print_bypass_summary(corpus, paths, results)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
