# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reboot after updates, only inside the maintenance window, only when the system needs it, and
never while a GPU compute job runs (unless forced): the logic of ``aihost-reboot-gate``.

The updates role installs this library on the host (``host_library``) with the thin command
``aihost-reboot-gate`` (``roles/updates/files/``), run by aihost-reboot-gate.service (started by
aihost-reboot-gate.timer). Standard library only: it runs on the managed hosts.

  aihost-reboot-gate --config /etc/aihost/updates/reboot-gate.json [--dry-run]

Checks, in order, all at run time (not from facts gathered when Ansible last ran):
  1. now (local time) lies inside [window_start, window_end)     else: outside_window
  2. a reboot is required: a file (Debian: /var/run/reboot-required) exists or a command
     (EL: needs-restarting -r) exits 1                             else: not_required
  3. no package or runtime update is running (busy_units)         else: deferred_updates_running
  4. no GPU compute process: `nvidia-smi --query-compute-apps` when nvidia-smi exists, plus
     every process holding a compute device node open (/proc/*/fd) else: deferred_gpu_busy
     (skipped when force is true, and once the reboot has waited max_defer_days: any local user
     can start a GPU process, so GPU jobs alone must not hold a security reboot off for ever;
     result rebooting_max_deferral. A running package or runtime update always defers: a reboot
     in the middle of dpkg can break the host, and only root starts those units.)
Then `systemctl reboot`. Each run logs to the journal and writes the status JSON file, which
also carries deferred_since: when a run inside the window first found the reboot required.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import datetime
import fnmatch
import json
import os
import shutil
import subprocess
import sys

from ansible_collections.aihost.hardening.plugins.module_utils import atomic_file

SCHEMA_VERSION = 1
DEFAULT_DEVICE_PATTERNS = ['/dev/nvidia[0-9]*', '/dev/nvidia-uvm', '/dev/kfd', '/dev/accel/accel[0-9]*']


def log(message, priority=6):
    sys.stdout.write((message if sys.stdout.isatty() else '<%d>%s' % (priority, message)) + '\n')
    sys.stdout.flush()


def in_window(now_hhmm, start, end):
    """True when HH:MM now lies in [start, end); windows may cross midnight; start == end: all day."""
    def minutes(value):
        hours, mins = value.split(':')
        return int(hours) * 60 + int(mins)
    now, low, high = minutes(now_hhmm), minutes(start), minutes(end)
    if low == high:
        return True
    if low < high:
        return low <= now < high
    return now >= low or now < high


def parse_compute_apps(text):
    """PIDs from `nvidia-smi --query-compute-apps=pid,process_name --format=csv,noheader`."""
    pids = []
    for line in (text or '').splitlines():
        first = line.split(',')[0].strip()
        if first.isdigit():
            pids.append(int(first))
    return pids


def device_holders(proc_root, patterns, ignore):
    """{pid: {'comm': name, 'devices': [...]}} for processes with a matching device node open."""
    holders = {}
    try:
        entries = os.listdir(proc_root)
    except OSError:
        return holders
    for entry in entries:
        if not entry.isdigit():
            continue
        fd_dir = os.path.join(proc_root, entry, 'fd')
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        devices = set()
        for fd in fds:
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if any(fnmatch.fnmatchcase(target, pattern) for pattern in patterns):
                devices.add(target)
        if not devices:
            continue
        comm = read_comm(proc_root, entry)
        if comm in ignore:
            continue
        holders[int(entry)] = {'comm': comm, 'devices': sorted(devices)}
    return holders


def read_comm(proc_root, pid):
    try:
        with open(os.path.join(proc_root, str(pid), 'comm')) as handle:
            return handle.read().strip()
    except OSError:
        return None


def run(argv, timeout=60):
    env = dict(os.environ, LANG='C', LC_ALL='C')
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                              universal_newlines=True, timeout=timeout, check=False)
        return proc.returncode, proc.stdout, proc.stderr
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, '', str(exc)


def gpu_jobs(cfg, proc_root='/proc'):
    """[{'pid', 'comm', 'source'}] of GPU compute processes, ignored process names left out."""
    ignore = set(cfg.get('ignore_processes') or [])
    jobs = {}
    smi = shutil.which('nvidia-smi')
    if smi:
        rc, out, err = run([smi, '--query-compute-apps=pid,process_name', '--format=csv,noheader'])
        if rc == 0:
            for pid in parse_compute_apps(out):
                comm = read_comm(proc_root, pid)
                if comm not in ignore:
                    jobs[pid] = {'pid': pid, 'comm': comm, 'source': 'nvidia-smi'}
        else:
            log('nvidia-smi failed (rc=%s): %s; relying on open device nodes' % (rc, err.strip()[:200]), 4)
    patterns = cfg.get('device_patterns') or DEFAULT_DEVICE_PATTERNS
    for pid, info in device_holders(proc_root, patterns, ignore).items():
        jobs.setdefault(pid, {'pid': pid, 'comm': info['comm'], 'source': 'open ' + ', '.join(info['devices'])})
    return sorted(jobs.values(), key=lambda job: job['pid'])


def reboot_required(cfg):
    path = cfg.get('required_file')
    if path and os.path.exists(path):
        return True, '%s exists' % path
    command = cfg.get('required_command')
    if command:
        rc, out, err = run(list(command), timeout=300)
        # needs-restarting -r: 1 = reboot needed, 0 = not needed.
        if rc == 1:
            return True, '%s says a reboot is needed' % command[0]
        if rc != 0:
            return False, '%s failed (rc=%s): %s' % (command[0], rc, (err or out).strip()[:200])
    return False, 'no reboot required'


def busy_units(cfg):
    busy = []
    for unit in cfg.get('busy_units') or []:
        rc, out, err = run(['systemctl', 'is-active', unit])
        if out.strip() in ('active', 'activating', 'deactivating', 'reloading'):
            busy.append(unit)
    return busy


def decide(cfg, now_hhmm, required, busy, jobs, deferred_days=0.0):
    """(result, reboot?) from the checks: pure, for tests. deferred_days: how long the required
    reboot has waited (see deferred_since)."""
    if not in_window(now_hhmm, cfg['window_start'], cfg['window_end']):
        return 'outside_window', False
    if not required:
        return 'not_required', False
    if busy:
        return 'deferred_updates_running', False
    if jobs and not cfg.get('force'):
        if over_max_deferral(cfg, deferred_days):
            return 'rebooting_max_deferral', True
        return 'deferred_gpu_busy', False
    return ('rebooting_forced' if jobs else 'rebooting'), True


def over_max_deferral(cfg, deferred_days):
    """True when the cap (max_defer_days, 0 = none) is set and reached."""
    limit = cfg.get('max_defer_days') or 0
    return limit > 0 and deferred_days >= limit


def deferred_since(previous, now, outside, required):
    """When the pending reboot was first found required inside the window (ISO 8601), carried in
    the status file from run to run; None once no reboot is required. A run outside the window
    checks nothing and keeps the previous value."""
    since = (previous or {}).get('deferred_since')
    if outside:
        return since
    if not required:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(since) if isinstance(since, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None or parsed > now:
        return now.isoformat()
    return since


def deferred_for_days(since, now):
    if not since:
        return 0.0
    return max(0.0, (now - datetime.datetime.fromisoformat(since)).total_seconds() / 86400.0)


def read_status(path):
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_status(path, data):
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    atomic_file.atomic_write(path, (json.dumps(data, indent=2, sort_keys=True) + '\n').encode('utf-8'), 0o644)


def main(argv=None):
    parser = argparse.ArgumentParser(description='Reboot inside the window when needed and no GPU job runs.')
    parser.add_argument('--config', required=True)
    parser.add_argument('--dry-run', action='store_true', help='decide and report, never reboot')
    parser.add_argument('--lib', help="where the command found this library (read by the command, not here)")
    args = parser.parse_args(argv)
    try:
        with open(args.config) as handle:
            cfg = json.load(handle)
        for key in ('window_start', 'window_end', 'status_file'):
            if not cfg.get(key):
                raise ValueError('%s is missing' % key)
        in_window('00:00', cfg['window_start'], cfg['window_end'])
        limit = cfg.get('max_defer_days', 0)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ValueError('max_defer_days=%r is not a whole number of days >= 0' % (limit,))
    except (OSError, ValueError) as exc:
        log('cannot use %s: %s' % (args.config, exc), 3)
        return 2
    now = datetime.datetime.now().astimezone().replace(microsecond=0)
    outside = not in_window(now.strftime('%H:%M'), cfg['window_start'], cfg['window_end'])
    required, why = (False, 'not checked') if outside else reboot_required(cfg)
    busy = busy_units(cfg) if required else []
    jobs = gpu_jobs(cfg) if required and not busy else []
    since = deferred_since(read_status(cfg['status_file']), now, outside, required)
    days = deferred_for_days(since, now)
    result, reboot = decide(cfg, now.strftime('%H:%M'), required, busy, jobs, days)
    status = {
        'schema_version': SCHEMA_VERSION, 'checked_at': now.isoformat(),
        'window': '%s-%s' % (cfg['window_start'], cfg['window_end']), 'force': bool(cfg.get('force')),
        'reboot_required': required, 'reason': why, 'busy_units': busy, 'gpu_jobs': jobs,
        'deferred_since': since, 'max_defer_days': cfg.get('max_defer_days', 0),
        'result': result, 'dry_run': args.dry_run,
    }
    write_status(cfg['status_file'], status)
    detail = ''
    if result == 'rebooting_max_deferral':
        detail = ' The reboot has waited since %s (%.1f days, max_defer_days %d): GPU jobs no longer defer it.' % (
            since, days, cfg['max_defer_days'])
    if jobs:
        detail += ' GPU jobs: ' + ', '.join('%s(%s) via %s' % (j['pid'], j['comm'], j['source']) for j in jobs)
    log('reboot gate: %s (%s).%s' % (result, why, detail), 4 if result.startswith('deferred') or jobs else 6)
    if reboot and not args.dry_run:
        log('rebooting now', 4)
        rc, out, err = run(['systemctl', 'reboot'])
        if rc != 0:
            log('systemctl reboot failed: %s' % (err or out).strip(), 3)
            return 1
    return 0
