# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of aihost.hardening.model_scan: progress lines for long scans.

A module cannot stream output, so a scan of a multi-terabyte store would sit silent for hours. With
``progress_display: true``, ``async: <limit>`` and ``poll: 0`` on the task, this plugin starts the
module as an async job and waits for it itself: every ``progress_interval`` seconds it checks the
job and prints one line with the files and bytes read so far, taken from the module's
``progress_file``. Without ``progress_display`` (or without async and ``poll: 0``) the module runs
exactly as Ansible would run it, and ``poll: 0`` stays fire-and-forget.
"""

from __future__ import annotations

import base64
import json
import time

from ansible.playbook.task import Task
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

display = Display()

MODULE = "aihost.hardening.model_scan"
# Keys of async_status's own bookkeeping, not the scan's result.
_JOB_KEYS = ("ansible_job_id", "started", "finished", "results_file", "stdout", "stderr", "stdout_lines",
             "stderr_lines", "erased")


def progress_line(state):
    """One line from the module's progress file, or None when it holds nothing usable.

    The file is the module's own (root-only state directory), but it is still read as data: only
    numbers are taken from it, never the name of the file being read."""
    if not isinstance(state, dict):
        return None
    numbers = {}
    for key in ("files_read", "files_to_read", "bytes_read", "bytes_to_read", "mb_per_s"):
        value = state.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            return None
        numbers[key] = value
    percent = 100.0 * numbers["bytes_read"] / numbers["bytes_to_read"] if numbers["bytes_to_read"] else 100.0
    return "%d/%d files, %.1f/%.1f GB read (%.0f%%), %.0f MB/s" % (
        numbers["files_read"], numbers["files_to_read"], numbers["bytes_read"] / 1e9, numbers["bytes_to_read"] / 1e9,
        percent, numbers["mb_per_s"])


class ActionModule(ActionBase):

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        watch = (args.get("progress_display") in (True, "true", "True", "yes", 1) and self._task.async_val
                 and not self._task.poll and args.get("progress_file") and not self._connection.has_native_async)
        wrap_async = bool(self._task.async_val) and not self._connection.has_native_async
        started = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars, wrap_async=wrap_async)
        if not watch or started.get("failed") or not started.get("ansible_job_id"):
            result.update(started)
            return result
        result.update(self._wait(started["ansible_job_id"], args, task_vars))
        return result

    def _status_handler(self, jid, mode="status"):
        task = Task.load({"action": "async_status", "args": {"jid": jid, "mode": mode},
                          "check_mode": self._task.check_mode, "environment": self._task.environment})
        return self._shared_loader_obj.action_loader.get(
            "ansible.legacy.async_status", task=task, connection=self._connection, play_context=self._play_context,
            loader=self._loader, templar=self._templar, shared_loader_obj=self._shared_loader_obj)

    def _progress(self, path, task_vars):
        read = self._execute_module(module_name="ansible.legacy.slurp", module_args={"src": path}, task_vars=task_vars)
        if read.get("failed") or "content" not in read:
            return None
        try:
            return progress_line(json.loads(base64.b64decode(read["content"]).decode("utf-8")))
        except (ValueError, TypeError, UnicodeDecodeError):
            return None

    def _wait(self, jid, args, task_vars):
        interval = max(1.0, float(args.get("progress_interval") or 10))
        deadline = time.monotonic() + self._task.async_val
        handler = self._status_handler(jid)
        host = task_vars.get("inventory_hostname", "?")
        shown = None
        status = {}
        pause = 0.5
        while time.monotonic() < deadline:
            # Short scans finish in a second or two: check early, then back off to the interval.
            pause = min(interval, pause * 2)
            time.sleep(pause)
            status = handler.run(task_vars=task_vars)
            if status.get("finished") or (status.get("failed") and status.get("_ansible_parsed")):
                break
            line = self._progress(args["progress_file"], task_vars)
            if line and line != shown:
                display.display("%s: %s: %s" % (host, args.get("path"), line))
                shown = line
        else:
            return {"failed": True, "msg": "model scan of %s did not complete within %d seconds; %s (the next run resumes "
                    "from the resume file)" % (args.get("path"), self._task.async_val, shown or "no progress reported"),
                    "ansible_job_id": jid}
        cleanup = self._status_handler(jid, "cleanup")
        cleanup.run(task_vars=task_vars)
        cleanup.cleanup(force=True)
        handler.cleanup(force=True)
        return dict((key, value) for key, value in status.items() if key not in _JOB_KEYS)
