#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: model_scan
short_description: Find unsafe model files without loading them, and pin a model store to a manifest
version_added: "0.1.0"
description:
  - Walks one model store (a directory such as Ollama's C(models), a Hugging Face cache or ComfyUI's
    C(models), or a single file), tells each file's format from its bytes (never its name), looks inside
    for code that would run when the model is loaded, and records the SHA-256 of every file.
  - "Formats: safetensors, GGUF (with a check of the Jinja chat template), pickle (protocols 0-5),
    PyTorch zip / legacy / tar checkpoints, TorchScript, NumPy C(.npy)/C(.npz), joblib (plain or
    compressed), ONNX, TensorFlow SavedModel, HDF5 / Keras H5, Keras v3, zip, tar, compressed streams."
  - Pickle-based files are disassembled with the opcode tables of the standard library's C(pickletools)
    and a symbolic stack (C(STACK_GLOBAL) operands are resolved through the memo); nothing is ever
    unpickled or imported. Every import outside an allowlist of what checkpoints need is reported with a
    severity and the call it sets up (for example C(posix.system via REDUCE with ('id',))).
  - "Verdicts: C(malicious) (a critical finding: commands, code, files or network at load time),
    C(suspicious) (high or medium: unknown imports, malformed pickles or headers, Keras Lambda layers,
    template injection patterns), C(clean) (nothing, or only low/info notes). A clean verdict is not a
    proof of safety: prefer safetensors and GGUF."
  - "In O(mode=manifest) the module writes one JSON manifest for the store (path, format, size,
    mtime, inode, SHA-256, verdict, findings of each file), only when its content changes, optionally
    with an HMAC-SHA256 signature file next to it. In O(mode=verify) it compares the store with the
    manifest and reports files added, removed and changed, and the signature's validity; it writes nothing."
  - Files whose size, mtime, ctime and inode match the previous manifest are not read again
    (O(rehash=true) reads everything). Hashing is streamed with a small thread pool.
  - Unreadable files, special files, symbolic-link loops, links leaving the store and files that change
    while they are read are reported under RV(problems) and skipped; they never fail the module.
options:
  path:
    description:
      - The model store, a directory or a single file.
    type: path
    required: true
    aliases: [store]
  mode:
    description:
      - C(scan) inspects and hashes, writes nothing.
      - C(manifest) also writes O(manifest) (and its signature) when their content changes.
      - C(verify) compares the store with O(manifest); writes nothing and never reports C(changed).
    type: str
    choices: [scan, manifest, verify]
    default: scan
  manifest:
    description:
      - Path of the store's JSON manifest. Read in every mode when present (to reuse unchanged files'
        hashes); written in O(mode=manifest). Required for O(mode=manifest) and O(mode=verify).
      - The signature, when O(signing_key_file) is set, is O(manifest) with C(.sig) appended.
    type: path
  manifest_mode:
    description:
      - File mode of the manifest and signature written by O(mode=manifest).
    type: raw
    default: "0640"
  exclude:
    description:
      - Shell patterns (C(fnmatch)) matched against each entry's path relative to the store and against its
        name; matching entries (and directories' contents) are left out. Useful for partial downloads
        such as C(*-partial) (Ollama) or C(*.incomplete) (Hugging Face).
    type: list
    elements: str
    default: []
  follow_symlinks:
    description:
      - Follow symbolic links. Off by default, links are recorded (target, inside the store or not) and
        not followed. When on, directories already visited are not entered again, so loops end.
    type: bool
    default: false
  rehash:
    description:
      - Read every file again even when its size, mtime, ctime and inode match the previous manifest.
    type: bool
    default: false
  workers:
    description:
      - Files inspected and hashed in parallel. C(0) picks half the CPUs, between 1 and 4.
    type: int
    default: 0
  read_size_mb:
    description:
      - Size of each read while hashing, in MiB.
    type: int
    default: 4
  allow_globals:
    description:
      - Extra pickle imports to accept, as C(module.name) or C(module.*). Critical imports (C(os),
        C(subprocess), C(builtins.eval)...) are reported whatever this list says.
    type: list
    elements: str
    default: []
  signing_key_file:
    description:
      - Key file on the managed host (at least 16 bytes) for an HMAC-SHA256 signature of the manifest.
        O(mode=manifest) writes the signature; O(mode=verify) checks it.
    type: path
  require_signature:
    description:
      - In O(mode=verify), treat a missing or invalid signature as a failed verification (RV(verify_ok)).
    type: bool
    default: false
  max_pickle_ops:
    description:
      - Opcodes read per pickle before it is reported as not fully inspected.
    type: int
    default: 10000000
  max_member_mb:
    description:
      - Zip and tar members larger than this (uncompressed) are reported and not inspected (zip bombs).
    type: int
    default: 1024
  max_decompressed_mb:
    description:
      - Bytes decompressed from a compressed pickle (joblib) before the inspection stops.
    type: int
    default: 4096
  progress_file:
    description:
      - JSON file rewritten every O(progress_interval) seconds with the files and bytes read so far, the
        rate and the current file (modules cannot stream output). Progress is also logged to the journal.
        Not written in check mode.
    type: path
  progress_interval:
    description:
      - Seconds between progress reports.
    type: float
    default: 10
  progress_display:
    description:
      - With C(async) and C(poll=0) on the task and O(progress_file) set, wait for the scan anyway and print
        one line every O(progress_interval) seconds with the files and bytes read so far (done by the
        module's action plugin on the controller). Without it, C(poll=0) is fire-and-forget as usual.
    type: bool
    default: false
  resume_file:
    description:
      - Checkpoint of the files read so far (their records), rewritten with each progress report. A run
        that is killed (an C(async) limit) or interrupted (SIGTERM, SIGINT) leaves it behind, and the
        next run takes the records whose size, mtime, ctime and inode still match instead of reading
        those files again (RV(stats.files_resumed)). Removed when a scan completes. Not written in
        check mode; ignored with O(rehash).
      - When interrupted by SIGTERM or SIGINT the module writes O(progress_file) one last time with
        C(status=interrupted) and fails, saying how far it got.
    type: path
  return_files:
    description:
      - Return every file's record in RV(files) (large stores give large results).
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
    details: The action plugin only adds the progress lines of O(progress_display); the module does the work.
  async:
    support: full
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: Everything is read and compared; the manifest, its signature and the progress file are not written.
  diff_mode:
    support: full
    details: Shows the files added, removed and changed against the previous manifest.
  platform:
    platforms: posix
    details: Needs Python 3.9+ and nothing else; symbolic links are handled with O_NOFOLLOW where the platform has it.
notes:
  - The module never loads a model and never imports a model library; the host needs only Python 3.9+.
  - The C(aihost.hardening.model_integrity) role runs this module on each store and installs a verify
    timer that runs the same code (C(aihost-model-verify)).
  - SavedModel, ONNX and HDF5 checks are byte-level heuristics; pickle findings come from a full
    disassembly. A blocklist or allowlist scanner can be evaded by code paths it does not know, so
    treat C(clean) as "nothing known-bad found".
author:
  - aihost.hardening maintainers (@aihost)
"""

EXAMPLES = r"""
- name: Scan the Ollama store and report unsafe files
  aihost.hardening.model_scan:
    path: /usr/share/ollama/.ollama/models
    exclude: ["*-partial", "*-partial-*"]
  register: ollama_scan

- name: Pin a Hugging Face cache to a signed manifest
  aihost.hardening.model_scan:
    path: /srv/hf-cache/hub
    mode: manifest
    manifest: /var/lib/aihost/model_integrity/srv_hf-cache_hub.json
    signing_key_file: /etc/aihost/model-integrity.key
    exclude: ["*.incomplete", ".locks/*"]

- name: Verify the store against its manifest
  aihost.hardening.model_scan:
    path: /srv/hf-cache/hub
    mode: verify
    manifest: /var/lib/aihost/model_integrity/srv_hf-cache_hub.json
    signing_key_file: /etc/aihost/model-integrity.key
    require_signature: true
  register: verify

- name: Fail when the store drifted
  ansible.builtin.assert:
    that: verify.verify_ok
    fail_msg: "{{ verify.drift }}"
"""

RETURN = r"""
store:
  description: The store's path as given.
  returned: always
  type: str
mode:
  description: The mode that ran.
  returned: always
  type: str
manifest:
  description: The manifest's path (null without one).
  returned: always
  type: str
scanner_version:
  description: Version of the detection rules; manifests from another version get their files re-inspected.
  returned: always
  type: str
stats:
  description: Counts and timing.
  returned: always
  type: dict
  contains:
    files:
      description: Regular files in the store (after exclusions).
      type: int
    bytes:
      description: Their total size.
      type: int
    files_read:
      description: Files read (inspected and hashed) in this run.
      type: int
    bytes_read:
      description: Bytes read in this run.
      type: int
    files_reused:
      description: Files taken unchanged from the previous manifest or from O(resume_file).
      type: int
    files_resumed:
      description: Of those, files taken from O(resume_file) (an interrupted run's checkpoint).
      type: int
    elapsed_s:
      description: Seconds spent walking, reading and hashing.
      type: float
    read_mb_per_s:
      description: Bytes read per second (MB/s, 10^6 bytes), null when nothing was read.
      type: float
    workers:
      description: Parallel workers used.
      type: int
  sample: {files: 5, bytes: 268435456, files_read: 5, bytes_read: 268435456, files_reused: 0,
           files_resumed: 0, elapsed_s: 0.31, read_mb_per_s: 865.9, workers: 2}
formats:
  description: Number of files per detected format.
  returned: always
  type: dict
  sample: {safetensors: 2, gguf: 1, pickle: 2}
verdicts:
  description: Number of files per verdict (clean, suspicious, malicious).
  returned: always
  type: dict
  sample: {clean: 3, suspicious: 1, malicious: 1}
findings:
  description: Files with at least one finding, most severe first.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: Path relative to the store.
      type: str
    format:
      description: Detected format.
      type: str
    verdict:
      description: C(clean), C(suspicious) or C(malicious).
      type: str
    severity:
      description: Highest severity of the file's findings (C(info), C(low), C(medium), C(high), C(critical)).
      type: str
    sha256:
      description: The file's SHA-256.
      type: str
    findings:
      description: "Each finding: C(severity), C(kind) (import, dynamic_import, malformed, limit, nested_import,
        computed_call, extension, object_array, keras_lambda, keras_module, tf_op, template_injection,
        zip_bomb, duplicate_members, polyglot, torchscript...), C(detail) and, for imports, C(global)."
      type: list
      elements: dict
  sample:
    - path: evil.pkl
      format: pickle
      verdict: malicious
      severity: critical
      sha256: 9f0c...
      findings:
        - severity: critical
          kind: import
          global: posix.system
          detail: "imports posix.system: module posix runs commands, code, files or network; posix.system via REDUCE with ('id',)"
problems:
  description: Entries skipped, with the reason (unreadable, special_file, symlink_loop, dangling_symlink,
    symlink_outside_store, changed_during_scan, vanished, error).
  returned: always
  type: list
  elements: dict
  sample: [{path: blobs/sha256-x-partial, reason: changed_during_scan, detail: "size/mtime/inode changed while it was read"}]
drift:
  description: Differences between the store and the manifest (in C(manifest) mode, against the previous
    manifest, that is what this run pins). Null when there is no manifest to compare with.
  returned: always
  type: dict
  contains:
    added:
      description: Paths not in the manifest.
      type: list
      elements: str
    removed:
      description: Paths in the manifest that are gone.
      type: list
      elements: str
    changed:
      description: Paths whose content changed (C(fields) lists C(sha256) and/or C(size)).
      type: list
      elements: dict
    touched:
      description: Same content, but a new mtime or inode.
      type: list
      elements: str
    symlinks_changed:
      description: Links added, removed or re-targeted.
      type: list
      elements: str
    drift:
      description: True when anything was added, removed or changed.
      type: bool
signature:
  description: Signature state. C(present), C(valid) (null when no key was given), C(detail).
  returned: when O(mode) is verify or manifest
  type: dict
  sample: {present: true, valid: true, detail: "HMAC-SHA256 matches (key 4be1c0d0d3c2a1f0)"}
verify_ok:
  description: In verify mode, true when nothing drifted, the manifest could be read and (with
    O(require_signature)) the signature is valid.
  returned: when O(mode=verify)
  type: bool
manifest_error:
  description: Why the manifest could not be used (unreadable, not JSON), or null.
  returned: always
  type: str
manifest_written:
  description: Whether the manifest or its signature was (or, in check mode, would be) written.
  returned: always
  type: bool
files:
  description: Every file's record (as in the manifest).
  returned: when O(return_files=true)
  type: list
  elements: dict
"""

import json
import os
import signal
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aihost.hardening.plugins.module_utils.atomic_file import atomic_write
from ansible_collections.aihost.hardening.plugins.module_utils.model_store import (
    SCANNER_VERSION, build_manifest, canonical_json, check_signature, compare, findings_of, load_manifest,
    read_key, scan_store, signature_for, signature_status, summarize_verdicts, verify_verdict)


def _read_bytes(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _mode_int(module, value):
    if isinstance(value, int):
        return value
    try:
        return int(str(value), 8)
    except ValueError:
        module.fail_json(msg="manifest_mode must be an octal mode such as '0640', got %r" % (value,))


def _drift_text(drift):
    if not drift:
        return ""
    lines = ["added: %s" % p for p in drift["added"]]
    lines += ["removed: %s" % p for p in drift["removed"]]
    lines += ["changed: %s (%s)" % (c["path"], ", ".join(c["fields"])) for c in drift["changed"]]
    lines += ["symlink changed: %s" % p for p in drift["symlinks_changed"]]
    return "\n".join(lines) + ("\n" if lines else "")


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True, aliases=["store"]),
            mode=dict(type="str", default="scan", choices=["scan", "manifest", "verify"]),
            manifest=dict(type="path"),
            manifest_mode=dict(type="raw", default="0640"),
            exclude=dict(type="list", elements="str", default=[]),
            follow_symlinks=dict(type="bool", default=False),
            rehash=dict(type="bool", default=False),
            workers=dict(type="int", default=0),
            read_size_mb=dict(type="int", default=4),
            allow_globals=dict(type="list", elements="str", default=[]),
            signing_key_file=dict(type="path", no_log=False),
            require_signature=dict(type="bool", default=False),
            max_pickle_ops=dict(type="int", default=10000000),
            max_member_mb=dict(type="int", default=1024),
            max_decompressed_mb=dict(type="int", default=4096),
            progress_file=dict(type="path"),
            progress_interval=dict(type="float", default=10.0),
            progress_display=dict(type="bool", default=False),
            resume_file=dict(type="path"),
            return_files=dict(type="bool", default=False),
        ),
        required_if=[("mode", "manifest", ["manifest"]), ("mode", "verify", ["manifest"])],
        supports_check_mode=True,
    )
    p = module.params
    store = p["path"]
    mode = p["mode"]
    manifest_path = p["manifest"]
    if not os.path.lexists(store):
        module.fail_json(msg="model store %s does not exist" % store)
    for name in ("workers", "read_size_mb", "max_pickle_ops", "max_member_mb", "max_decompressed_mb"):
        if p[name] < 0 or (name != "workers" and p[name] == 0):
            module.fail_json(msg="%s must be positive, got %r" % (name, p[name]))
    file_mode = _mode_int(module, p["manifest_mode"])

    key = None
    if p["signing_key_file"]:
        try:
            key = read_key(p["signing_key_file"])
        except (OSError, ValueError) as exc:
            module.fail_json(msg="signing_key_file: %s" % exc)

    previous, manifest_error = (None, None)
    old_bytes = None
    if manifest_path:
        old_bytes = _read_bytes(manifest_path)
        previous, manifest_error = load_manifest(manifest_path)
    if mode == "verify" and previous is None and manifest_error is None:
        manifest_error = "no manifest at %s: run mode=manifest first" % manifest_path

    def progress(state):
        module.log("model_scan %s: %d/%d files, %.0f/%.0f MB read, %s MB/s, current %s" % (
            state["store"], state["files_read"], state["files_to_read"], state["bytes_read"] / 1e6,
            state["bytes_to_read"] / 1e6, state["mb_per_s"], state["current"]))
        if p["progress_file"] and not module.check_mode:
            try:
                atomic_write(p["progress_file"], (json.dumps(dict(state, updated=time.time())) + "\n").encode(), 0o640)
            except OSError:
                pass

    last_state = {}

    def progress_and_remember(state):
        last_state.clear()
        last_state.update(state)
        progress(state)

    resume = None
    if p["resume_file"] and not p["rehash"]:
        try:
            with open(p["resume_file"], "rb") as handle:
                resume = json.loads(handle.read().decode("utf-8"))
            if not isinstance(resume, dict) or resume.get("store") != store:
                resume = None
        except (OSError, IOError, ValueError):
            resume = None

    def checkpoint(state):
        if p["resume_file"] and not module.check_mode:
            try:
                atomic_write(p["resume_file"], (json.dumps(state, sort_keys=True) + "\n").encode(), 0o600)
            except OSError:
                pass

    def terminate(signum, frame):  # pylint: disable=unused-argument
        raise KeyboardInterrupt("signal %d" % signum)

    handler = signal.signal(signal.SIGTERM, terminate)
    inspect_options = {"allow_globals": p["allow_globals"], "max_pickle_ops": p["max_pickle_ops"],
                       "max_member_bytes": p["max_member_mb"] << 20,
                       "max_decompressed_bytes": p["max_decompressed_mb"] << 20}
    # verify re-reads what changed; the manifest is the reference, not a cache of trusted results
    try:
        result_scan = scan_store(store, previous=previous if mode != "verify" or not p["rehash"] else None,
                                 exclude=p["exclude"], follow_symlinks=p["follow_symlinks"], rehash=p["rehash"],
                                 workers=p["workers"], read_size=p["read_size_mb"] << 20,
                                 inspect_options=inspect_options, progress=progress_and_remember,
                                 progress_interval=p["progress_interval"], resume=resume,
                                 checkpoint=checkpoint if p["resume_file"] else None)
    except KeyboardInterrupt as exc:
        module.fail_json(msg="model_scan of %s interrupted (%s) after %d of %d files to read (%.0f of %.0f MB); "
                         "the next run resumes from %s" % (
                             store, exc, last_state.get("files_read", 0), last_state.get("files_to_read", 0),
                             last_state.get("bytes_read", 0) / 1e6, last_state.get("bytes_to_read", 0) / 1e6,
                             p["resume_file"] or "the manifest only (no resume_file)"),
                         progress=last_state, interrupted=True)
    finally:
        signal.signal(signal.SIGTERM, handler)
    if p["resume_file"] and not module.check_mode and os.path.lexists(p["resume_file"]):
        try:
            os.unlink(p["resume_file"])
        except OSError:
            pass
    records = result_scan["records"]
    links = result_scan["links"]
    formats = {}
    for record in records:
        formats[record["format"]] = formats.get(record["format"], 0) + 1

    result = dict(changed=False, store=store, mode=mode, manifest=manifest_path, scanner_version=SCANNER_VERSION,
                  stats=result_scan["stats"], formats=formats, verdicts=summarize_verdicts(records),
                  findings=findings_of(records), problems=result_scan["problems"],
                  drift=compare(previous, records, links) if previous else None,
                  manifest_error=manifest_error, manifest_written=False)
    if p["return_files"]:
        result["files"] = records

    if mode == "verify":
        sig_bytes = _read_bytes(manifest_path + ".sig") if manifest_path else None
        signature = signature_status(old_bytes, sig_bytes, key, "%s.sig" % manifest_path)
        if p["require_signature"] and key is None:
            signature["detail"] = "require_signature is set but no signing_key_file was given"
        result["signature"] = signature
        result["verify_ok"] = verify_verdict(previous is not None and not manifest_error,
                                             bool(result["drift"] and result["drift"]["drift"]), signature,
                                             p["require_signature"])[0]
    elif mode == "manifest":
        new_manifest = build_manifest(store, records, links, p["exclude"], p["follow_symlinks"])
        new_bytes = canonical_json(new_manifest)
        sig_path = manifest_path + ".sig"
        writes = []
        if new_bytes != old_bytes:
            writes.append((manifest_path, new_bytes))
        signature = {"present": os.path.exists(sig_path), "valid": None, "detail": "no signing key given"}
        if key is not None:
            old_sig = _read_bytes(sig_path)
            valid = old_sig is not None and check_signature(new_bytes, old_sig, key)[0]
            if not valid:
                writes.append((sig_path, signature_for(new_bytes, key)))
            signature.update(present=True, valid=True, detail="HMAC-SHA256 written for the new manifest"
                             if not valid else "HMAC-SHA256 matches")
        result["signature"] = signature
        if writes:
            result["changed"] = True
            result["manifest_written"] = True
            if not module.check_mode:
                directory = os.path.dirname(manifest_path)
                if not os.path.isdir(directory):
                    module.fail_json(msg="directory of the manifest %s does not exist" % manifest_path, **result)
                try:
                    for path, data in writes:
                        atomic_write(path, data, file_mode)
                except OSError as exc:
                    module.fail_json(msg="cannot write %s: %s" % (manifest_path, exc), **result)
        elif os.path.exists(manifest_path) and (os.stat(manifest_path).st_mode & 0o7777) != file_mode:
            result["changed"] = True
            if not module.check_mode:
                os.chmod(manifest_path, file_mode)
        if module._diff and result["changed"]:
            before = "(no manifest)\n" if old_bytes is None else "%d files\n" % len((previous or {}).get("files", []))
            after = "%d files\n" % len(records)
            after += _drift_text(result["drift"]) if result["drift"] else ""
            result["diff"] = {"before_header": manifest_path, "after_header": manifest_path,
                              "before": before, "after": after}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
