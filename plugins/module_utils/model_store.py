# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Model stores: walk, hash, inspect, manifest, verify. Standard library only.

Used by the ``aihost.hardening.model_scan`` module and, unchanged, by the ``aihost-model-verify``
command that the ``model_integrity`` role installs for its systemd timer (the role copies this
file, ``model_formats.py`` and ``pickle_scan.py`` to the host).

- Walk: ``os.scandir``, symlinks are recorded and never followed unless asked; with
  ``follow_symlinks`` directories are tracked by (st_dev, st_ino) so loops end. Unreadable
  directories, special files, loops and links leaving the store are reported and skipped.
- Hash: SHA-256, streamed with ``readinto`` into one reusable buffer per worker (``hashlib``
  releases the GIL on large updates, so a small thread pool hashes several files at once).
  Files are opened with ``O_NOFOLLOW`` (a file swapped for a link after the walk is not followed)
  and ``O_NONBLOCK`` (a FIFO swapped in does not hang), and re-``fstat``-ed after reading: a size
  or mtime change means the file changed during the scan: reported, not recorded.
- Reuse: a file whose (size, mtime_ns, ctime_ns, inode) match the previous manifest is not read
  again (ctime cannot be set from user space, unlike mtime).
- Manifest: deterministic JSON (sorted, no timestamps), so an unchanged store gives a
  byte-identical manifest and the module can report ``changed`` truthfully. Optional
  ``<manifest>.sig``: HMAC-SHA256 of the manifest bytes with a key file on the host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fnmatch
import hashlib
import hmac
import io
import json
import os
import stat
import threading
import time

try:
    from .model_formats import inspect_stream, verdict_of, FORMAT_VERSION
    from .pickle_scan import max_severity
except ImportError:  # pragma: no cover - top-level import (benchmarks load any revision's scanner so)
    from model_formats import inspect_stream, verdict_of, FORMAT_VERSION
    from pickle_scan import max_severity

SCHEMA_VERSION = 1
# Bump when detection changes: manifests written by an older scanner get their files re-inspected.
SCANNER_VERSION = "%d.1" % FORMAT_VERSION
GENERATOR = "aihost.hardening.model_scan"
DEFAULT_READ_SIZE = 4 << 20

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


# ---------------------------------------------------------------------------------------------
# Walk
# ---------------------------------------------------------------------------------------------
def _excluded(rel, name, patterns):
    for pattern in patterns:
        if fnmatch.fnmatchcase(rel, pattern) or fnmatch.fnmatchcase(name, pattern):
            return True
    return False


def _inside(path, root_real):
    return path == root_real or path.startswith(root_real.rstrip(os.sep) + os.sep)


def walk_store(root, follow_symlinks=False, exclude=()):
    """Return (files, symlinks, problems).

    files: [{"path": rel, "abs": path, "size", "mtime_ns", "ctime_ns", "inode"}] sorted by path;
    symlinks: [{"path": rel, "target": str, "inside": bool}]; problems: [{"path", "reason", "detail"}].
    """
    files, links, problems = [], [], []
    try:
        root_st = os.stat(root)
    except OSError as exc:
        return files, links, [{"path": root, "reason": _reason(exc), "detail": str(exc)}]
    root_real = os.path.realpath(root)
    if stat.S_ISREG(root_st.st_mode):
        files.append(_file_entry(os.path.basename(root), root, root_st))
        return files, links, problems
    if not stat.S_ISDIR(root_st.st_mode):
        return files, links, [{"path": root, "reason": "special_file", "detail": "not a file or directory"}]
    visited = set([(root_st.st_dev, root_st.st_ino)])
    pending = [(root, "")]
    while pending:
        directory, rel_dir = pending.pop()
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            problems.append({"path": rel_dir or ".", "reason": _reason(exc), "detail": str(exc)})
            continue
        for entry in entries:
            rel = entry.name if not rel_dir else rel_dir + "/" + entry.name
            if _excluded(rel, entry.name, exclude):
                continue
            try:
                if entry.is_symlink():
                    target = os.readlink(entry.path)
                    resolved = os.path.realpath(entry.path)
                    inside = _inside(resolved, root_real)
                    try:
                        st = os.stat(entry.path)
                    except OSError as exc:
                        reason = "symlink_loop" if exc.errno == errno.ELOOP else "dangling_symlink"
                        problems.append({"path": rel, "reason": reason, "detail": "-> %s" % target})
                        links.append({"path": rel, "target": target, "inside": inside})
                        continue
                    if not follow_symlinks:
                        links.append({"path": rel, "target": target, "inside": inside})
                        if not inside:
                            problems.append({"path": rel, "reason": "symlink_outside_store",
                                             "detail": "-> %s (not followed)" % resolved})
                        continue
                else:
                    st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                problems.append({"path": rel, "reason": _reason(exc), "detail": str(exc)})
                continue
            if stat.S_ISDIR(st.st_mode):
                key = (st.st_dev, st.st_ino)
                if key in visited:
                    problems.append({"path": rel, "reason": "symlink_loop",
                                     "detail": "directory already visited (loop), not entered"})
                    continue
                visited.add(key)
                pending.append((entry.path, rel))
            elif stat.S_ISREG(st.st_mode):
                files.append(_file_entry(rel, entry.path, st))
            else:
                problems.append({"path": rel, "reason": "special_file", "detail": "not a regular file, skipped"})
    files.sort(key=lambda f: f["path"])
    links.sort(key=lambda link: link["path"])
    return files, links, problems


def _file_entry(rel, path, st):
    return {"path": rel, "abs": path, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "ctime_ns": st.st_ctime_ns, "inode": st.st_ino}


def _reason(exc):
    if isinstance(exc, PermissionError):
        return "unreadable"
    if getattr(exc, "errno", None) == errno.ELOOP:
        return "symlink_loop"
    if isinstance(exc, FileNotFoundError):
        return "vanished"
    return "error"


# ---------------------------------------------------------------------------------------------
# One file
# ---------------------------------------------------------------------------------------------
class _Buffers(threading.local):
    def get(self, size):
        buf = getattr(self, "buf", None)
        if buf is None or len(buf) != size:
            self.buf = bytearray(size)
        return self.buf


_BUFFERS = _Buffers()


def hash_fd(fd, read_size=DEFAULT_READ_SIZE, on_read=None):
    """SHA-256 of an open file descriptor from offset 0; returns (hexdigest, bytes read).

    ``on_read(n)`` is called after each chunk, so progress can be reported inside a big file."""
    digest = hashlib.sha256()
    buf = _BUFFERS.get(read_size)
    view = memoryview(buf)
    total = 0
    os.lseek(fd, 0, os.SEEK_SET)
    readinto = io.FileIO(fd, "rb", closefd=False).readinto
    while True:
        n = readinto(buf)
        if not n:
            break
        digest.update(view[:n])
        total += n
        if on_read is not None:
            on_read(n)
    return digest.hexdigest(), total


def process_file(entry, inspect_options=None, read_size=DEFAULT_READ_SIZE, follow_symlinks=False, on_read=None):
    """Inspect and hash one file. Returns (record, problem); exactly one of them is None."""
    rel = entry["path"]
    flags = os.O_RDONLY | _O_NONBLOCK | _O_CLOEXEC | (0 if follow_symlinks else _O_NOFOLLOW)
    try:
        fd = os.open(entry["abs"], flags)
    except OSError as exc:
        return None, {"path": rel, "reason": _reason(exc), "detail": str(exc)}
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            return None, {"path": rel, "reason": "special_file", "detail": "not a regular file, skipped"}
        with io.open(fd, "rb", buffering=1 << 16, closefd=False) as handle:
            inspection = inspect_stream(handle, before.st_size, inspect_options)
        sha256, total = hash_fd(fd, read_size, on_read)
        after = os.fstat(fd)
    except OSError as exc:
        return None, {"path": rel, "reason": _reason(exc), "detail": str(exc)}
    finally:
        os.close(fd)
    if (total != before.st_size or after.st_size != before.st_size or after.st_mtime_ns != before.st_mtime_ns
            or before.st_ino != entry["inode"]):
        return None, {"path": rel, "reason": "changed_during_scan",
                      "detail": "size/mtime/inode changed while it was read (size %d -> %d, read %d)"
                      % (before.st_size, after.st_size, total)}
    record = {"path": rel, "format": inspection["format"], "size": after.st_size,
              "mtime_ns": after.st_mtime_ns, "ctime_ns": after.st_ctime_ns, "inode": after.st_ino,
              "sha256": sha256, "verdict": inspection["verdict"], "severity": inspection["severity"],
              "code_capable": inspection["code_capable"], "findings": inspection["findings"]}
    if inspection["details"]:
        record["details"] = inspection["details"]
    return record, None


# ---------------------------------------------------------------------------------------------
# Manifests
# ---------------------------------------------------------------------------------------------
def canonical_json(data):
    return (json.dumps(data, sort_keys=True, indent=1, separators=(",", ": "), ensure_ascii=True) + "\n").encode("ascii")


def load_manifest(path):
    """Return (manifest or None, error or None). A missing file is (None, None)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, "cannot read %s: %s" % (path, exc)
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        return None, "%s is not JSON: %s" % (path, exc)
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        return None, "%s is not a model manifest" % path
    return manifest, None


def read_key(path):
    with open(path, "rb") as handle:
        key = handle.read().strip()
    if len(key) < 16:
        raise ValueError("signing key %s is shorter than 16 bytes" % path)
    return key


def signature_for(manifest_bytes, key):
    return canonical_json({"algorithm": "hmac-sha256", "key_id": hashlib.sha256(key).hexdigest()[:16],
                           "mac": hmac.new(key, manifest_bytes, hashlib.sha256).hexdigest()})


def check_signature(manifest_bytes, sig_bytes, key):
    """Return (valid, detail)."""
    try:
        sig = json.loads(sig_bytes.decode("utf-8"))
        mac = sig["mac"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, AttributeError):
        return False, "signature file is not valid JSON with a mac"
    expected = hmac.new(key, manifest_bytes, hashlib.sha256).hexdigest()
    if hmac.compare_digest(expected, str(mac)):
        return True, "HMAC-SHA256 matches (key %s)" % sig.get("key_id")
    return False, "HMAC-SHA256 does not match (manifest or signature altered, or another key)"


def signature_status(manifest_bytes, sig_bytes, key, sig_path="the signature file"):
    """What the signature says: {"present", "valid" (True, False, or None without a key), "detail"}."""
    status = {"present": sig_bytes is not None, "valid": None, "detail": "no signing key given"}
    if key is None:
        return status
    if sig_bytes is None:
        status.update(valid=False, detail="no signature file %s" % sig_path)
    elif manifest_bytes is None:
        status.update(valid=False, detail="no manifest to check the signature against")
    else:
        valid, detail = check_signature(manifest_bytes, sig_bytes, key)
        status.update(valid=valid, detail=detail)
    return status


def verify_verdict(manifest_ok, drift, signature, require_signature):
    """The one verdict of a verify run, for the model_scan module and the aihost-model-verify timer.

    Returns (ok, reason). A signature that exists and does not match always fails (the manifest or
    the signature was altered), whether or not signatures are required; a missing one, or no key,
    fails only when ``require_signature`` is set."""
    if not manifest_ok:
        return False, "no readable manifest"
    if drift:
        return False, "the store differs from its manifest"
    if signature.get("present") and signature.get("valid") is False:
        return False, "signature invalid: %s" % signature.get("detail")
    if require_signature and signature.get("valid") is not True:
        return False, "a valid signature is required: %s" % signature.get("detail")
    return True, "verified"


def build_manifest(store, records, links, exclude, follow_symlinks):
    formats, verdicts = {}, {}
    total = 0
    for record in records:
        formats[record["format"]] = formats.get(record["format"], 0) + 1
        verdicts[record["verdict"]] = verdicts.get(record["verdict"], 0) + 1
        total += record["size"]
    return {"schema_version": SCHEMA_VERSION, "generator": GENERATOR, "scanner_version": SCANNER_VERSION,
            "store": store, "follow_symlinks": bool(follow_symlinks), "exclude": list(exclude),
            "files": sorted(records, key=lambda r: r["path"]),
            "symlinks": [{"path": link["path"], "target": link["target"], "inside": link["inside"]} for link in links],
            "summary": {"files": len(records), "bytes": total, "formats": formats, "verdicts": verdicts}}


def compare(old, records, links):
    """Drift between a manifest and the current records: added/removed/changed/touched."""
    before = dict((r["path"], r) for r in old.get("files", []) if isinstance(r, dict) and "path" in r)
    now = dict((r["path"], r) for r in records)
    added = sorted(set(now) - set(before))
    removed = sorted(set(before) - set(now))
    changed, touched = [], []
    for path in sorted(set(now) & set(before)):
        fields = [f for f in ("sha256", "size") if now[path].get(f) != before[path].get(f)]
        if fields:
            changed.append({"path": path, "fields": fields,
                            "sha256_before": before[path].get("sha256"), "sha256_now": now[path].get("sha256")})
        elif any(now[path].get(f) != before[path].get(f) for f in ("mtime_ns", "inode")):
            touched.append(path)
    old_links = dict((link.get("path"), link.get("target")) for link in old.get("symlinks", []) if isinstance(link, dict))
    new_links = dict((link["path"], link["target"]) for link in links)
    links_changed = sorted(p for p in set(old_links) | set(new_links) if old_links.get(p) != new_links.get(p))
    return {"added": added, "removed": removed, "changed": changed, "touched": touched,
            "symlinks_changed": links_changed,
            "drift": bool(added or removed or changed or links_changed)}


# ---------------------------------------------------------------------------------------------
# A whole store
# ---------------------------------------------------------------------------------------------
def _reusable(entry, old, scanner_version):
    return (old is not None and old.get("sha256") and scanner_version == SCANNER_VERSION
            and all(old.get(k) == entry[k] for k in ("size", "mtime_ns", "ctime_ns", "inode")))


def scan_store(store, previous=None, exclude=(), follow_symlinks=False, rehash=False, workers=0,
               read_size=DEFAULT_READ_SIZE, inspect_options=None, progress=None, progress_interval=10.0,
               resume=None, checkpoint=None):
    """Walk, inspect and hash a store. ``previous``: a manifest to reuse unchanged files from.

    ``resume``: the checkpoint of an interrupted scan (``{"scanner_version", "files"}``); its records
    are reused like the manifest's, where size, mtime, ctime and inode still match. ``checkpoint``:
    called with that dictionary (the records read so far in this run) at each progress report, so a
    scan killed part-way leaves what it finished. Progress states carry ``status``: running, done,
    or interrupted (KeyboardInterrupt or SystemExit, re-raised after the last report).

    Returns a dict: records (sorted), links, problems, stats. Never raises on bad files.
    """
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
    started = time.monotonic()
    files, links, problems = walk_store(store, follow_symlinks=follow_symlinks, exclude=exclude)
    old_by_path = {}
    if previous:
        for record in previous.get("files", []):
            if isinstance(record, dict):
                old_by_path[record.get("path")] = (record, previous.get("scanner_version"), "manifest")
    if resume and not rehash:
        for record in resume.get("files", []):
            if isinstance(record, dict) and record.get("path") not in old_by_path:
                old_by_path[record.get("path")] = (record, resume.get("scanner_version"), "checkpoint")
    records, todo, fresh, carried = [], [], [], []
    resumed = 0
    for entry in files:
        old, old_version, source = old_by_path.get(entry["path"], (None, None, None))
        if not rehash and _reusable(entry, old, old_version):
            records.append(old)
            if source == "checkpoint":
                resumed += 1
                carried.append(old)
        else:
            todo.append(entry)
    total_bytes = sum(e["size"] for e in files)
    todo_bytes = sum(e["size"] for e in todo)
    done = {"files": 0, "bytes": 0}
    last_report = [started]
    lock = threading.Lock()

    def on_read(count):  # worker threads: bytes hashed so far, inside files too
        with lock:
            done["bytes"] += count

    def report(current, force=False, status="running", save=True):
        now = time.monotonic()
        if (progress is None and checkpoint is None) or (not force and now - last_report[0] < progress_interval):
            return
        last_report[0] = now
        elapsed = now - started
        if checkpoint is not None and save:
            # What this run read, plus what it took over from an earlier checkpoint: a second
            # interruption keeps both.
            checkpoint({"scanner_version": SCANNER_VERSION, "store": store, "files": carried + list(fresh)})
        if progress is not None:
            progress({"store": store, "status": status, "files_total": len(files), "files_to_read": len(todo),
                      "files_reused": len(files) - len(todo), "files_resumed": resumed,
                      "files_read": done["files"], "bytes_to_read": todo_bytes, "bytes_read": done["bytes"],
                      "bytes_total": total_bytes, "elapsed_s": round(elapsed, 1),
                      "mb_per_s": round(done["bytes"] / 1e6 / elapsed, 1) if elapsed > 0 else None,
                      "current": current})

    if workers <= 0:
        # Half the CPUs, at most 4: SHA-256 with SHA-NI outruns most disks on one core, and the
        # runtime keeps a core. On a loaded 2-CPU box two workers measured slower than one.
        workers = max(1, min(4, (os.cpu_count() or 1) // 2))
    # Big files first: the pool stays busy on them while small ones fill the gaps.
    todo.sort(key=lambda e: -e["size"])
    if progress is not None:
        report(None, force=True, save=False)  # replaces a previous run's last state before anyone reads it
    pool = ThreadPoolExecutor(max_workers=workers)
    futures = {}
    try:
        futures = dict((pool.submit(process_file, entry, inspect_options, read_size, follow_symlinks, on_read), entry)
                       for entry in todo)
        order = dict((future, index) for index, future in enumerate(futures))
        pending = set(futures)
        while pending:
            # Wake up at least every progress_interval, so a single huge file still reports its bytes.
            finished, pending = wait(pending, timeout=progress_interval if progress is not None else None,
                                     return_when=FIRST_COMPLETED)
            if not finished:
                report(None)
            stop = None
            for future in sorted(finished, key=order.get):
                entry = futures[future]
                try:
                    record, problem = future.result()
                except Exception as exc:  # noqa: BLE001 - one bad file never stops the store
                    record, problem = None, {"path": entry["path"], "reason": "error", "detail": repr(exc)}
                except (KeyboardInterrupt, SystemExit) as exc:
                    stop = exc  # after the files that did finish are recorded
                    continue
                if record is not None:
                    records.append(record)
                    fresh.append(record)
                else:
                    problems.append(problem)
                    old = old_by_path.get(entry["path"], (None,))[0]
                    if old is not None and problem["reason"] == "changed_during_scan":
                        problem["kept_previous"] = True
                        records.append(old)
                done["files"] += 1
                report(entry["path"])
            if stop is not None:
                raise stop
    except (KeyboardInterrupt, SystemExit):
        # Say how far it got, keep what is finished, and stop without hashing the rest.
        for future in futures:
            future.cancel()
        pool.shutdown(wait=False)
        report(None, force=True, status="interrupted")
        raise
    pool.shutdown(wait=True)
    report(None, force=True, status="done")
    elapsed = time.monotonic() - started
    records.sort(key=lambda r: r["path"])
    problems.sort(key=lambda p: p["path"])
    return {"records": records, "links": links, "problems": problems,
            "stats": {"files": len(files), "bytes": total_bytes, "files_read": len(todo), "bytes_read": todo_bytes,
                      "files_reused": len(files) - len(todo), "files_resumed": resumed,
                      "elapsed_s": round(elapsed, 3), "workers": workers,
                      "read_mb_per_s": round(todo_bytes / 1e6 / elapsed, 1) if elapsed > 0 and todo_bytes else None}}


def findings_of(records, links_problems=()):
    """Files whose verdict isn't clean, or with any finding, most severe first."""
    rank = {"malicious": 0, "suspicious": 1, "clean": 2}
    out = []
    for record in records:
        if record.get("findings"):
            out.append({"path": record["path"], "format": record.get("format"), "verdict": record.get("verdict"),
                        "severity": record.get("severity"), "sha256": record.get("sha256"),
                        "findings": record["findings"]})
    out.sort(key=lambda item: (rank.get(item["verdict"], 3), item["path"]))
    return out


def summarize_verdicts(records):
    counts = {"clean": 0, "suspicious": 0, "malicious": 0}
    for record in records:
        verdict = record.get("verdict") or verdict_of(record.get("findings") or [])
        counts[verdict] = counts.get(verdict, 0) + 1
    return counts


__all__ = ["walk_store", "process_file", "scan_store", "build_manifest", "compare", "canonical_json",
           "load_manifest", "read_key", "signature_for", "check_signature", "findings_of",
           "summarize_verdicts", "max_severity", "SCANNER_VERSION"]
