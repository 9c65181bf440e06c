# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check for, and optionally apply, an update of one local-AI runtime: the logic of ``aihost-updater``.

The updates role installs this library on the host (``host_library``) with the thin command
``aihost-updater`` (``roles/updates/files/aihost-updater``), run by aihost-update-<runtime>.service
(started by its timer). Standard library only: it runs on the managed hosts.

    aihost-updater --config /etc/aihost/updates/<runtime>.json            # policy from the config
    aihost-updater --config ... --check                                     # report only, change nothing
    aihost-updater --config ... --rollback                                  # restore the previous version

Kinds of runtime:

- pip: a Python package in a virtual environment: pinned upgrade, health check, rollback to the
  exact ``pip freeze`` taken before the upgrade.
- container: a Docker container: pull, recreate only if the image ID changed, health check, the
  previous container is kept stopped until the new one is healthy.
- binary: an install-script runtime such as Ollama: download from a configurable URL, verify its
  SHA-256, keep the previous files for rollback.

Every run logs to stdout (the journal, under the unit) and writes a status JSON file
(<status_dir>/<runtime>.json) that the audit reads. Exit status: 0 = nothing to do, update
available (notify), or updated; 1 = update failed or rolled back; 2 = configuration error.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import copy
import datetime
import errno
import fcntl
import hashlib
import http.client
import json
import os
import platform
import pwd
import re
import shutil
import socket
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request

from ansible_collections.aihost.hardening.plugins.module_utils import atomic_file
from ansible_collections.aihost.hardening.plugins.module_utils import container_api
from ansible_collections.aihost.hardening.plugins.module_utils import fs_trust
from ansible_collections.aihost.hardening.plugins.module_utils import versions

SCHEMA_VERSION = 1
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
KINDS = ('pip', 'container', 'binary')
POLICIES = ('notify', 'apply')
_VERSION_RE = re.compile(r'(?<![0-9A-Za-z.])v?(\d+(?:\.\d+)+(?:[-+._]?[0-9A-Za-z]+)*)')
_RELEASE_RE = re.compile(r'^v?(\d+(?:\.\d+)*)')
_SHA256_RE = re.compile(r'^[0-9a-fA-F]{64}$')


class ConfigError(Exception):
    """The configuration file is missing, unreadable or inconsistent."""


class UpdateError(Exception):
    """A step of the update failed; the message says which and why."""


# ---------------------------------------------------------------------------------------------
# Logging: stdout goes to the journal under the unit; the <N> prefixes set the syslog priority.
def log(message, priority=6):
    sys.stdout.write((message if sys.stdout.isatty() else '<%d>%s' % (priority, message)) + '\n')
    sys.stdout.flush()


def warn(message):
    log(message, 4)


def error(message):
    log(message, 3)


# ---------------------------------------------------------------------------------------------
# Pure helpers (unit-tested).
def decide(current, available, pinned):
    """What to do given the installed and the best available version.

    pinned: True when the operator set an exact target version or a constraint, in which case a
    move to an older version is intended (the constraint excludes the installed one).
    Returns 'up_to_date' or 'change'.
    """
    if not available or not current:
        return 'up_to_date' if not available else 'change'
    if normalize_version(available) == normalize_version(current):
        return 'up_to_date'
    if not pinned and versions.compare(available, current) < 0:
        return 'up_to_date'
    return 'change'


def normalize_version(version):
    return (version or '').strip().lstrip('v').lower()


def extract_version(text):
    """First version-looking token of a command's output ('ollama version is 0.12.3' -> '0.12.3')."""
    for line in (text or '').splitlines():
        match = _VERSION_RE.search(line)
        if match:
            return match.group(1)
    return None


def parse_latest(body):
    """Latest version from a release feed: JSON with tag_name/version/name, or plain text."""
    text = body.decode('utf-8', 'replace') if isinstance(body, bytes) else (body or '')
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, list) and data:
        data = data[0]
    if isinstance(data, dict):
        for key in ('tag_name', 'version', 'name'):
            value = data.get(key)
            if isinstance(value, str) and _RELEASE_RE.match(value.strip()):
                return value.strip().lstrip('v')
        return None
    found = extract_version(text)
    return found.lstrip('v') if found else None


def parse_sha256_file(text, filename):
    """Digest for filename from a sha256sum-style file ('<hex>  [*]<name>'), or a lone digest."""
    lines = [line.strip() for line in (text or '').splitlines() if line.strip()]
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and _SHA256_RE.match(parts[0]):
            name = parts[-1].lstrip('*')
            if name == filename or os.path.basename(name) == filename:
                return parts[0].lower()
    if len(lines) == 1 and _SHA256_RE.match(lines[0].split()[0]) and len(lines[0].split()) == 1:
        return lines[0].lower()
    return None


def parse_pip_report(text, package):
    """Version pip would install for package, from `pip install --dry-run --report -` JSON."""
    try:
        report = json.loads(text)
    except ValueError:
        return None
    wanted = canonical_name(package)
    for item in report.get('install', []) or []:
        metadata = item.get('metadata') or {}
        if canonical_name(metadata.get('name', '')) == wanted:
            return metadata.get('version')
    return None


def parse_pip_index_versions(text):
    """Newest version from `pip index versions` output ('pkg (1.2.3)' first line)."""
    for line in (text or '').splitlines():
        match = re.match(r'^\S+ \(([^)]+)\)\s*$', line.strip())
        if match:
            return match.group(1)
    return None


def parse_pip_freeze(text):
    """`pip freeze --all` -> {canonical name: requirement line} for name==version lines only."""
    pins = {}
    for line in (text or '').splitlines():
        line = line.strip()
        match = re.match(r'^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$', line)
        if match:
            pins[canonical_name(match.group(1))] = line
    return pins


def canonical_name(name):
    return re.sub(r'[-_.]+', '-', (name or '').strip()).lower()


def pip_requirement(package, version=None, constraint=None):
    if version:
        return '%s==%s' % (package, version)
    if constraint:
        return '%s%s' % (package, constraint)
    return package


def safe_member(name):
    """True for archive member names that stay inside the extraction directory."""
    if not name or name.startswith('/') or '\x00' in name:
        return False
    parts = [part for part in name.split('/') if part not in ('', '.')]
    return '..' not in parts


def _inside(path, base):
    return path == base or path.startswith(base.rstrip('/') + '/')


def tar_member_problem(member, dest):
    """None, or why this tar member must not be unpacked under dest (an existing directory).

    The rules of tarfile's 'data' filter, checked here as well so that a Python without the filter
    refuses exactly the same archives: no absolute or '..' names, nothing that lands outside dest
    through a link unpacked earlier, no symlink or hard link leading outside dest (a symlink's
    target is relative to the member's directory, a hard link's to the ARCHIVE ROOT), no device
    nodes or FIFOs. Called before anything is unpacked and again just before each member is."""
    name, linkname = member.name, member.linkname or ''
    if not safe_member(name):
        return 'its name is absolute or climbs out with ..'
    dest = os.path.realpath(dest)
    if not _inside(os.path.realpath(os.path.join(dest, name)), dest):
        return 'it would land outside the target through a link'
    if member.isdev():  # character and block devices, and FIFOs
        return 'it is a device node or FIFO'
    if member.issym():
        if linkname.startswith('/') or '\x00' in linkname:
            return 'it is a symlink to the absolute path %s' % show(linkname)
        if not _inside(os.path.realpath(os.path.join(dest, os.path.dirname(name), linkname)), dest):
            return 'it is a symlink to %s, outside the target' % show(linkname)
    elif member.islnk():
        if not safe_member(linkname) or not _inside(os.path.realpath(os.path.join(dest, linkname)), dest):
            return 'it is a hard link to %s, outside the target' % show(linkname)
    elif not (member.isreg() or member.isdir()):
        return 'its type is not supported'
    return None


# tarfile's 'data' filter: Python 3.12+, and backports in 3.9.17+, 3.10.12+, 3.11.4+.
HAS_DATA_FILTER = hasattr(tarfile, 'data_filter')


def extract_tar(tar, dest):
    """Unpack every member of an open TarFile into dest, refusing the archive on the first member
    that tar_member_problem rejects. Files come out root's (the caller's) and never group/other
    writable or setuid: the 'data' filter where Python has it, the same by hand where not."""
    members = tar.getmembers()
    for member in members:
        problem = tar_member_problem(member, dest)
        if problem:
            raise UpdateError('archive member %s refused: %s' % (show(member.name), problem))
    for member in members:
        problem = tar_member_problem(member, dest)  # again: links unpacked so far count now
        if problem:
            raise UpdateError('archive member %s refused: %s' % (show(member.name), problem))
        if HAS_DATA_FILTER:
            tar.extract(member, dest, filter='data')
            continue
        member = copy.copy(member)
        member.uid = member.gid = 0
        member.uname = member.gname = 'root'
        member.mode = (member.mode or 0) & 0o755 | (0o600 if member.isreg() else 0)
        tar.extract(member, dest)


# Names in messages are escaped as the audit escapes them.
show = fs_trust.show


def require_trusted(path, what, want_dir=False):
    """Raise UpdateError (nothing runs) unless only root can change PATH (fs_trust, the audit's rule)."""
    reason = fs_trust.untrusted_reason(path, want_dir=want_dir)
    if reason:
        raise UpdateError('%s not run as root: %s (root never runs a file another user can change)' % (what, reason))


def strip_image_defaults(container_config, old_image_config):
    """Container Config minus what it inherited from its old image, so the new image's own
    defaults (Env, Cmd, Entrypoint, Labels, ...) apply to the recreated container."""
    config = dict(container_config or {})
    image = old_image_config or {}
    image_env = set(image.get('Env') or [])
    if config.get('Env') is not None:
        config['Env'] = [item for item in config['Env'] if item not in image_env]
    for key in ('Cmd', 'Entrypoint', 'WorkingDir', 'User', 'StopSignal', 'Healthcheck', 'Shell'):
        if key in config and config.get(key) == image.get(key):
            config.pop(key)
    if isinstance(config.get('Labels'), dict):
        image_labels = image.get('Labels') or {}
        config['Labels'] = dict((k, v) for k, v in config['Labels'].items() if image_labels.get(k) != v)
    for key in ('ExposedPorts', 'Volumes'):
        if isinstance(config.get(key), dict):
            image_keys = set((image.get(key) or {}).keys())
            config[key] = dict((k, v) for k, v in config[key].items() if k not in image_keys)
    return config


def recreate_body(inspect, old_image_config, image_ref):
    """Body for POST /containers/create that reproduces an inspected container on image_ref."""
    config = strip_image_defaults(inspect.get('Config') or {}, old_image_config)
    config['Image'] = image_ref
    container_id = inspect.get('Id') or ''
    if container_id and config.get('Hostname') == container_id[:12]:
        config.pop('Hostname')
    host_config = dict(inspect.get('HostConfig') or {})
    binds = list(host_config.get('Binds') or [])
    bound = set(bind.split(':')[1] for bind in binds if ':' in bind)
    bound.update(m.get('Target') for m in host_config.get('Mounts') or [])
    # Anonymous volumes would otherwise be replaced by empty new ones: reattach them by name.
    for mount in inspect.get('Mounts') or []:
        if mount.get('Type') == 'volume' and mount.get('Destination') not in bound and mount.get('Name'):
            binds.append('%s:%s%s' % (mount['Name'], mount['Destination'], '' if mount.get('RW', True) else ':ro'))
    if binds:
        host_config['Binds'] = binds
    endpoints = {}
    for name, net in ((inspect.get('NetworkSettings') or {}).get('Networks') or {}).items():
        endpoints[name] = dict((k, net.get(k)) for k in ('IPAMConfig', 'Links', 'Aliases', 'DriverOpts')
                               if net.get(k) is not None)
    body = dict(config)
    body['HostConfig'] = host_config
    body['NetworkingConfig'] = {'EndpointsConfig': endpoints}
    return body


# ---------------------------------------------------------------------------------------------
# Credentials for pip: never on a command line (any local user reads /proc/<pid>/cmdline), and
# never in a process that a non-root user owns (its owner reads /proc/<pid>/environ).
_URL_USERINFO_RE = re.compile(r'[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#]+@')
# pip options whose value may be a URL with credentials: option -> (pip.conf key, takes several).
PIP_URL_OPTIONS = {
    '--index-url': ('index-url', False), '-i': ('index-url', False),
    '--extra-index-url': ('extra-index-url', True),
    '--find-links': ('find-links', True), '-f': ('find-links', True),
    '--proxy': ('proxy', False),
}
_SECRET_WORDS = ('secret', 'password', 'passwd', 'credential')
_SWITCH_VALUES = ('', 'true', 'false', 'yes', 'no', 'on', 'off', '0', '1', 'none', 'null')


def has_url_credentials(value):
    """True when value holds a URL with a user part (user:password@ or a token as the user)."""
    return bool(_URL_USERINFO_RE.search(value or ''))


def is_secret_variable(name, value):
    """An environment variable that carries a credential: a URL with a user part, or a name like
    the audit's redaction rules (..._TOKEN, ..._API_KEY, ...PASSWORD..., not NO_AUTH) with a value."""
    if has_url_credentials(value):
        return True
    parts = [part for part in re.split(r'[^a-z0-9]+', (name or '').lower()) if part]
    if not parts or (len(parts) > 1 and parts[0] in ('no', 'disable', 'enable')):
        return False
    if (value or '').strip().lower() in _SWITCH_VALUES:
        return False
    return (any(word in part for part in parts for word in _SECRET_WORDS)
            or parts[-1].endswith(('key', 'keys', 'token', 'auth')))


def split_pip_credentials(args):
    """pip arguments -> (argv, moved): the index options whose values carry credentials leave argv
    for pip's configuration file; moved is [(pip.conf key, several, [values])] in argv order.
    Every value of a key that has one with credentials moves, so that the key keeps all of them.
    Raises ConfigError, naming no value, for credentials anywhere else."""
    options = []  # (the argv words, option name, its value or None, pip.conf key or None, several)
    index = 0
    while index < len(args):
        words = [args[index]]
        name, value = args[index], None
        if name.startswith('--') and '=' in name:
            name, value = name.split('=', 1)
        elif name[:2] in ('-i', '-f') and len(name) > 2 and not name.startswith('--'):
            name, value = name[:2], name[2:]
        if name in PIP_URL_OPTIONS and value is None and index + 1 < len(args):
            index += 1
            value = args[index]
            words.append(value)
        key, several = PIP_URL_OPTIONS.get(name, (None, False))
        options.append((words, name, value, key, several))
        index += 1
    keys = set(option[3] for option in options if option[3] and has_url_credentials(option[2]))
    argv, moved = [], []
    for words, name, value, key, several in options:
        if key not in keys:
            if any(has_url_credentials(word) for word in words):
                raise ConfigError('pip_extra_args: credentials in %s, which the updater cannot move into pip\'s '
                                  'configuration file (only %s can be): they would be on the command line' % (
                                      show(name) if name.startswith('-') else 'an argument',
                                      ', '.join(sorted(option for option in PIP_URL_OPTIONS if option.startswith('--')))))
            argv.extend(words)
            continue
        if value is None or '\n' in value or '\r' in value:
            raise ConfigError('pip_extra_args: %s needs one value on one line' % show(name))
        entry = [item for item in moved if item[0] == key]
        if not entry:
            moved.append((key, several, [value]))
        elif several:
            entry[0][2].append(value)
        else:
            entry[0][2][:] = [value]  # as on the command line: the last one wins
    return argv, moved


def pip_config_text(moved):
    """pip.conf text for moved: [global] key = value, several values one per line."""
    lines = ['[global]']
    for key, several, values in moved:
        if several:
            lines.append('%s =' % key)
            lines.extend('    %s' % value for value in values)
        else:
            lines.append('%s = %s' % (key, values[-1]))
    return '\n'.join(lines) + '\n'


# ---------------------------------------------------------------------------------------------
# I/O helpers.
def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def run(argv, user=None, env=None, timeout=1800, check=False):
    """Run argv (a list), optionally as another user; returns (rc, stdout, stderr). A None value
    in env removes that variable from the child's environment."""
    kwargs = {}
    full_env = dict(os.environ)
    full_env.update({'LANG': 'C', 'LC_ALL': 'C'})
    for key, value in (env or {}).items():
        if value is None:
            full_env.pop(key, None)
        else:
            full_env[key] = value
    if user is not None and user[0] != os.geteuid():
        uid, gid, home = user

        def demote():
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
        kwargs['preexec_fn'] = demote
        full_env['HOME'] = home
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env,
                                universal_newlines=True, **kwargs)
        out, err = proc.communicate(timeout=timeout)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        rc, err = 124, (err or '') + '\ntimed out after %ss' % timeout
    except OSError as exc:
        rc, out, err = 127, '', str(exc)
    if check and rc != 0:
        raise UpdateError('%s failed (rc=%s): %s' % (' '.join(argv[:4]), rc, tail(err or out)))
    return rc, out, err


def tail(text, lines=6):
    return ' | '.join((text or '').strip().splitlines()[-lines:])


def write_json_atomic(path, data, mode=0o644):
    """PATH holds DATA as JSON, replaced in one rename (module_utils/atomic_file.py)."""
    atomic_file.atomic_write(path, (json.dumps(data, indent=2, sort_keys=True) + '\n').encode('utf-8'), mode)


def read_json(path, default=None):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return default


def http_get(url, timeout=60, max_bytes=None, use_proxy=True):
    handlers = [] if use_proxy else [urllib.request.ProxyHandler({})]
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(url, headers={'User-Agent': 'aihost-updater/1'})
    with opener.open(request, timeout=timeout) as response:
        body = response.read(max_bytes + 1 if max_bytes else -1)
        if max_bytes and len(body) > max_bytes:
            raise UpdateError('%s: answer larger than %d bytes' % (url, max_bytes))
        return response.status, body


def download(url, dest, timeout=300):
    digest = hashlib.sha256()
    request = urllib.request.Request(url, headers={'User-Agent': 'aihost-updater/1'})
    # The default opener: proxies from the environment (aihost_updates_environment), as pip's are.
    with urllib.request.build_opener().open(request, timeout=timeout) as response, open(dest, 'wb') as handle:
        while True:
            chunk = response.read(1 << 20)
            if not chunk:
                break
            digest.update(chunk)
            handle.write(chunk)
    return digest.hexdigest()


def systemctl(*args):
    return run(['systemctl'] + list(args), timeout=300)


def unit_state(unit):
    return systemctl('is-active', unit)[1].strip() or 'unknown'


def restart_unit(unit):
    if not unit:
        return
    log('restarting %s' % unit)
    rc, out, err = systemctl('restart', unit)
    if rc != 0:
        raise UpdateError('systemctl restart %s failed: %s' % (unit, tail(err or out)))


def health_check(health, unit):
    """Wait up to health.timeout s for: the unit active, the TCP port answering, the URL
    answering 2xx/3xx with a body matching health.expect. Returns (ok, detail)."""
    health = health or {}
    timeout = 60 if health.get('timeout') is None else int(health['timeout'])
    host, port = health.get('host') or '127.0.0.1', health.get('port')
    url, expect = health.get('url'), health.get('expect')
    deadline = time.monotonic() + timeout
    detail = 'no check ran'
    while True:
        ok, detail = _probe_once(unit, host, port, url, expect)
        if ok:
            # Still up a moment later: catches services that answer once, then crash.
            time.sleep(2)
            ok2, detail2 = _probe_once(unit, host, port, None, None)
            if ok2:
                return True, detail
            detail = detail2
        if time.monotonic() >= deadline:
            return False, '%s (after %ss)' % (detail, timeout)
        time.sleep(2)


def _probe_once(unit, host, port, url, expect):
    if unit:
        state = unit_state(unit)
        if state != 'active':
            return False, '%s is %s' % (unit, state)
    if port:
        try:
            socket.create_connection((host, int(port)), timeout=3).close()
        except OSError as exc:
            return False, 'port %s:%s not answering: %s' % (host, port, exc)
    if url:
        try:
            status, body = http_get(url, timeout=5, max_bytes=1 << 20, use_proxy=False)
        except urllib.error.HTTPError as exc:
            return False, '%s answered HTTP %s' % (url, exc.code)
        except (OSError, http.client.HTTPException, UpdateError) as exc:
            return False, '%s: %s' % (url, exc)
        if status >= 400:
            return False, '%s answered HTTP %s' % (url, status)
        text = body.decode('utf-8', 'replace')
        if expect and not re.search(expect, text):
            return False, '%s answer does not match %r' % (url, expect)
    checks = [c for c, v in (('unit', unit), ('port', port), ('url', url)) if v]
    return True, 'healthy (%s)' % ', '.join(checks) if checks else 'no health check configured'


# ---------------------------------------------------------------------------------------------
# Runtimes.
class Runtime(object):
    """Common flow: current -> available -> decide -> (apply -> health -> rollback)."""

    def __init__(self, cfg, status):
        self.cfg = cfg
        self.status = status
        self.name = cfg['name']
        self.unit = cfg.get('unit')
        self.health = cfg.get('health') or {}
        self.state_dir = os.path.join(cfg['status_dir'], self.name)
        # Set once apply() starts changing the installed runtime: failures before that point
        # need no rollback (and must not trigger one: an older kept state could be restored).
        self.modified = False

    def healthy(self):
        ok, detail = health_check(self.health, self.unit)
        (log if ok else warn)('health check: %s' % detail)
        return ok, detail


class PipRuntime(Runtime):
    def __init__(self, cfg, status):
        super(PipRuntime, self).__init__(cfg, status)
        pip = cfg.get('pip') or {}
        self.venv = pip.get('venv')
        self.package = pip.get('package')
        self.target = pip.get('version')
        self.constraint = pip.get('constraint')
        if not self.venv or not self.package:
            raise ConfigError('pip runtime %s needs pip.venv and pip.package' % self.name)
        try:
            # Index options with credentials go to a root-only pip.conf, not on pip's command line.
            self.extra_args, self.index_config = split_pip_credentials([str(arg) for arg in pip.get('extra_args') or []])
        except ConfigError as exc:
            raise ConfigError('pip runtime %s: %s' % (self.name, exc))
        self.python = os.path.join(self.venv, 'bin', 'python')
        if not os.path.exists(self.python):
            raise ConfigError('%s: no Python interpreter at %s' % (self.name, self.python))
        info = os.stat(self.venv)
        try:
            home = pwd.getpwuid(info.st_uid).pw_dir
        except KeyError:
            home = '/nonexistent'
        # pip runs as the owner of the venv, so it never leaves root-owned files in a user's venv.
        self.user = (info.st_uid, info.st_gid, home)
        if self.user[0] != 0:
            self._refuse_credentials_for_user(cfg)
        self._trusted = False
        self.freeze_path = os.path.join(self.state_dir, 'pip-freeze-previous.txt')

    def _refuse_credentials_for_user(self, cfg):
        """pip of a user's venv runs as that user, who can read its argv, its environment and any
        file it reads: such a run gets no credentials at all (names in the message, never values)."""
        found = []
        if self.index_config:
            keys = [item[0] for item in self.index_config]
            found.append('pip_extra_args %s' % ', '.join(sorted(
                option for option, (key, several) in PIP_URL_OPTIONS.items() if option.startswith('--') and key in keys)))
        configured = dict((str(k), str(v)) for k, v in (cfg.get('environment') or {}).items())
        environment = dict(os.environ)
        environment.update(configured)
        names = sorted(name for name, value in environment.items()
                       if has_url_credentials(value) or (name in configured and is_secret_variable(name, value)))
        if names:
            found.append('environment %s' % ', '.join(names))
        if found:
            raise ConfigError(
                'pip runtime %s: not passing credentials (%s) to pip of %s: that virtualenv is owned by uid %d, '
                'pip runs as that user, and the user could read them from the process; use a root-owned '
                'virtualenv or an index without credentials' % (self.name, '; '.join(found), show(self.venv), self.user[0]))

    def pip(self, *args, **kwargs):
        env = {'PIP_DISABLE_PIP_VERSION_CHECK': '1', 'PIP_NO_INPUT': '1', 'PYTHONDONTWRITEBYTECODE': '1'}
        env.update(kwargs.pop('env', None) or {})
        if self.user[0] == 0 and not self._trusted:
            self._check_root_venv()
        return run([self.python, '-m', 'pip'] + list(args), user=self.user, env=env, **kwargs)

    def pip_index(self, *args, **kwargs):
        """A pip call that reaches the index: the extra arguments on its command line, and the index
        options with credentials in a pip.conf that only root can read (PIP_CONFIG_FILE), removed
        afterwards. Such a pip runs as root (a user's venv with credentials is refused)."""
        if not self.index_config:
            return self.pip(*(list(args) + self.extra_args), **kwargs)
        if self.user[0] != 0:  # refused in __init__ already; never hand the file to another user
            raise UpdateError('pip of %s would run as uid %d with credentials' % (self.name, self.user[0]))
        if os.environ.get('PIP_CONFIG_FILE'):
            raise UpdateError('pip runtime %s: PIP_CONFIG_FILE is set, and the index credentials in pip_extra_args '
                              'would go into a configuration file of their own: put them in that file' % self.name)
        if '--isolated' in self.extra_args:
            raise UpdateError('pip runtime %s: --isolated makes pip ignore the configuration file that '
                              'carries the index credentials' % self.name)
        env = {}
        moved = []
        for key, several, values in self.index_config:
            # On the command line a value took precedence over PIP_<KEY> (and added to it, for the
            # options that take several); in a configuration file it would not, so fold it in.
            variable = 'PIP_' + key.upper().replace('-', '_')
            before = os.environ.get(variable, '').split() if several else []
            moved.append((key, several, before + values))
            env[variable] = None
        fd, path = tempfile.mkstemp(prefix='.pip-', suffix='.conf', dir=self._root_only_dir())
        try:
            with os.fdopen(fd, 'w') as handle:
                os.fchmod(handle.fileno(), 0o600)
                handle.write(pip_config_text(moved))
            env['PIP_CONFIG_FILE'] = path
            return self.pip(*(list(args) + self.extra_args), env=env, **kwargs)
        finally:
            os.unlink(path)

    def _root_only_dir(self):
        """The runtime's state directory, made or checked to be root's and 0700."""
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        fd = os.open(self.state_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            info = os.fstat(fd)
            if info.st_uid != 0:
                raise UpdateError('%s is owned by uid %d, not root' % (show(self.state_dir), info.st_uid))
            if stat.S_IMODE(info.st_mode) & 0o077:
                os.fchmod(fd, 0o700)
        finally:
            os.close(fd)
        return self.state_dir

    def _check_root_venv(self):
        """A root-owned venv runs pip as root: its interpreter, its site-packages directories and
        their .pth files (run at start-up) must be root's alone. A user's venv runs as the user."""
        require_trusted(self.python, 'pip of %s (%s)' % (self.name, show(self.python)))
        lib = os.path.join(self.venv, 'lib')
        for entry in sorted(os.listdir(lib)) if os.path.isdir(lib) else []:
            site = os.path.join(lib, entry, 'site-packages')
            if entry.startswith('python') and os.path.isdir(site):
                require_trusted(site, 'pip of %s (%s)' % (self.name, show(self.python)), want_dir=True)
                for name in sorted(os.listdir(site)):
                    if name.endswith('.pth'):
                        require_trusted(os.path.join(site, name), 'pip of %s (%s)' % (self.name, show(self.python)))
        self._trusted = True

    def current(self):
        rc, out, err = self.pip('show', self.package)
        if rc != 0:
            raise UpdateError('%s is not installed in %s: %s' % (self.package, self.venv, tail(err)))
        for line in out.splitlines():
            if line.startswith('Version:'):
                return line.split(':', 1)[1].strip()
        raise UpdateError('pip show %s printed no version' % self.package)

    def available(self):
        requirement = pip_requirement(self.package, self.target, self.constraint)
        rc, out, err = self.pip_index('install', '--dry-run', '--ignore-installed', '--no-deps', '--quiet',
                                      '--report', '-', requirement, timeout=600)
        if rc == 0:
            version = parse_pip_report(out, self.package)
            if version:
                return version
        if 'no such option' in (err or '') and not (self.target or self.constraint):
            # pip < 22.2 has no --dry-run/--report; `pip index versions` (>= 21.2) lists releases.
            rc2, out2, err2 = self.pip_index('index', 'versions', self.package, timeout=600)
            if rc2 == 0 and parse_pip_index_versions(out2):
                return parse_pip_index_versions(out2)
            err = err2
        raise UpdateError('cannot find an installable version of %s: %s' % (requirement, tail(err or out)))

    def pinned(self):
        return bool(self.target or self.constraint)

    def freeze(self):
        rc, out, err = self.pip('freeze', '--all', check=True)
        return out

    def apply(self, current, available):
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        before = self.freeze()
        with open(self.freeze_path, 'w') as handle:
            handle.write(before)
        log('installing %s==%s into %s (previous %s, saved to %s)' % (
            self.package, available, self.venv, current, self.freeze_path))
        self.modified = True
        rc, out, err = self.pip_index('install', '%s==%s' % (self.package, available), timeout=3600)
        if rc != 0:
            raise UpdateError('pip install failed: %s' % tail(err or out))
        installed = self.current()
        if normalize_version(installed) != normalize_version(available):
            raise UpdateError('after pip install, %s is at %s, not %s' % (self.package, installed, available))

    def rollback(self, current=None):
        """Reinstall exactly the set frozen before the update and drop what the update added."""
        try:
            with open(self.freeze_path) as handle:
                before = handle.read()
        except OSError:
            raise UpdateError('no saved state to roll back to (%s)' % self.freeze_path)
        before_pins = parse_pip_freeze(before)
        after_pins = parse_pip_freeze(self.freeze())
        added = sorted(name for name in after_pins if name not in before_pins)
        changed = [line for name, line in sorted(before_pins.items()) if after_pins.get(name) != line]
        if added:
            log('rollback: removing packages the update added: %s' % ', '.join(added))
            self.pip('uninstall', '--yes', *added, check=True)
        if changed:
            log('rollback: reinstalling %d package(s) at their previous versions' % len(changed))
            fd, path = tempfile.mkstemp(prefix='aihost-rollback-', suffix='.txt')
            with os.fdopen(fd, 'w') as handle:
                handle.write('\n'.join(changed) + '\n')
            os.chmod(path, 0o644)
            try:
                self.pip_index('install', '--no-deps', '-r', path, check=True, timeout=3600)
            finally:
                os.unlink(path)
        return self.current()


class BinaryRuntime(Runtime):
    def __init__(self, cfg, status):
        super(BinaryRuntime, self).__init__(cfg, status)
        binary = cfg.get('binary') or {}
        self.path = binary.get('path')
        if not self.path:
            raise ConfigError('binary runtime %s needs binary.path' % self.name)
        self.version_command = binary.get('version_command') or [self.path, '--version']
        self.latest_url = binary.get('latest_url')
        self.url = binary.get('url')
        self.sha256 = (binary.get('sha256') or '').lower() or None
        self.sha256_url = binary.get('sha256_url')
        self.target = binary.get('version')
        self.archive = binary.get('archive') or 'auto'
        self.prefix = binary.get('install_prefix') or os.path.dirname(os.path.dirname(self.path))
        self.members = list(binary.get('archive_members') or [])
        self.previous_dir = os.path.join(self.state_dir, 'previous')
        if self.sha256 and not self.target:
            raise ConfigError('%s: binary.sha256 pins one file, so binary.version must be set too' % self.name)

    def current(self):
        if not os.path.exists(self.path):
            raise UpdateError('%s does not exist' % self.path)
        argv = list(self.version_command)
        executable = argv[0] if argv[0].startswith('/') else (shutil.which(argv[0]) or argv[0])
        require_trusted(executable, 'the version command of %s (%s)' % (self.name, show(' '.join(argv))))
        rc, out, err = run([executable] + argv[1:], timeout=60)
        version = extract_version(out) or extract_version(err)
        if not version:
            raise UpdateError('no version in the output of %s' % ' '.join(self.version_command))
        return version.lstrip('v')

    def pinned(self):
        return bool(self.target)

    def available(self):
        if self.target:
            return self.target
        if not self.latest_url:
            raise UpdateError('set binary.latest_url (or binary.version) to know the latest release')
        status, body = http_get(self.latest_url, timeout=60, max_bytes=4 << 20)
        version = parse_latest(body)
        if not version:
            raise UpdateError('%s: no version in the answer' % self.latest_url)
        return version

    def _format(self, template, version):
        machine = platform.machine().lower()
        arch = {'x86_64': 'amd64', 'aarch64': 'arm64'}.get(machine, machine)
        return template.replace('{version}', version).replace('{arch}', arch).replace('{machine}', machine)

    def _expected_digest(self, version, filename):
        if self.sha256:
            return self.sha256
        if not self.sha256_url:
            raise UpdateError('no checksum configured (binary.sha256 or binary.sha256_url): refusing an unverified download')
        url = self._format(self.sha256_url, version)
        status, body = http_get(url, timeout=60, max_bytes=4 << 20)
        digest = parse_sha256_file(body.decode('utf-8', 'replace'), filename)
        if not digest:
            raise UpdateError('%s lists no SHA-256 for %s' % (url, filename))
        return digest

    def _archive_type(self, url):
        if self.archive != 'auto':
            return self.archive
        lower = url.lower().split('?')[0]
        for suffix, kind in (('.tgz', 'tgz'), ('.tar.gz', 'tgz'), ('.tar.xz', 'txz'), ('.tar.zst', 'tzst'),
                             ('.tar', 'tar')):
            if lower.endswith(suffix):
                return kind
        return 'raw'

    def _installed_members(self):
        if self.members:
            return self.members
        return [os.path.relpath(self.path, self.prefix)]

    def apply(self, current, available):
        if not self.url:
            raise UpdateError('binary.url is not set: nothing to download')
        url = self._format(self.url, available)
        filename = os.path.basename(url.split('?')[0])
        work = os.path.join(self.state_dir, 'work')
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work, mode=0o700)
        archive = os.path.join(work, filename)
        log('downloading %s' % url)
        digest = download(url, archive)
        expected = self._expected_digest(available, filename)
        if digest != expected:
            raise UpdateError('SHA-256 mismatch for %s: got %s, expected %s' % (filename, digest, expected))
        log('SHA-256 verified: %s' % digest)
        staging = os.path.join(work, 'staging')
        os.makedirs(staging)
        kind = self._archive_type(url)
        if kind == 'raw':
            target = os.path.join(staging, self._installed_members()[0])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(archive, target)
            os.chmod(target, 0o755)
        else:
            self._extract(archive, kind, staging)
        members = self._installed_members()
        missing = [m for m in members if not os.path.lexists(os.path.join(staging, m))]
        if missing:
            raise UpdateError('the download has no %s' % ', '.join(missing))
        for member in members:
            # Root writes the new files there: a directory another user can change could redirect them.
            parent = os.path.dirname(os.path.join(self.prefix, member))
            while not os.path.lexists(parent):
                parent = os.path.dirname(parent)
            reason = fs_trust.untrusted_reason(parent, want_dir=True)
            if reason:
                raise UpdateError('not installing %s into %s: %s' % (member, self.prefix, reason))
        self._save_previous(members, current)
        self.modified = True
        try:
            for member in members:
                self._swap_in(os.path.join(staging, member), os.path.join(self.prefix, member))
        except (OSError, shutil.Error) as exc:
            self.rollback()
            raise UpdateError('installing the new files failed (previous files restored): %s' % exc)
        shutil.rmtree(work, ignore_errors=True)

    def _extract(self, archive, kind, staging):
        if kind == 'tzst':
            # Decompress with zstd, then unpack with tarfile like every other archive (same checks).
            zstd = shutil.which('zstd')
            if not zstd:
                raise UpdateError('a .tar.zst download needs zstd on the host')
            require_trusted(zstd, 'zstd')
            plain = archive + '.tar'
            run([zstd, '-d', '-q', '-f', '-o', plain, archive], check=True)
            archive, kind = plain, 'tar'
        mode = {'tgz': 'r:gz', 'txz': 'r:xz', 'tar': 'r:'}.get(kind)
        if not mode:
            raise UpdateError('unknown archive type %r' % kind)
        try:
            with tarfile.open(archive, mode) as tar:
                extract_tar(tar, staging)
        except tarfile.TarError as exc:
            raise UpdateError('cannot unpack %s: %s' % (os.path.basename(archive), exc))

    def _save_previous(self, members, current):
        shutil.rmtree(self.previous_dir, ignore_errors=True)
        os.makedirs(self.previous_dir, mode=0o700)
        for member in members:
            source = os.path.join(self.prefix, member)
            dest = os.path.join(self.previous_dir, 'files', member)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            if os.path.isdir(source) and not os.path.islink(source):
                shutil.copytree(source, dest, symlinks=True)
            elif os.path.lexists(source):
                shutil.copy2(source, dest, follow_symlinks=False)
        write_json_atomic(os.path.join(self.previous_dir, 'meta.json'),
                          {'version': current, 'members': members, 'prefix': self.prefix, 'saved_at': utcnow()},
                          mode=0o600)
        log('previous files (version %s) kept in %s' % (current, self.previous_dir))

    @staticmethod
    def _swap_in(source, dest):
        """Replace dest by source; files are renamed into place atomically (same directory)."""
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if os.path.isdir(source) and not os.path.islink(source):
            new = dest + '.aihost-new'
            old = dest + '.aihost-old'
            shutil.rmtree(new, ignore_errors=True)
            shutil.rmtree(old, ignore_errors=True)
            shutil.copytree(source, new, symlinks=True)
            if os.path.lexists(dest):
                os.rename(dest, old)
            os.rename(new, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            new = dest + '.aihost-new'
            if os.path.lexists(new):
                os.unlink(new)
            shutil.copy2(source, new, follow_symlinks=False)
            os.replace(new, dest)

    def rollback(self, current=None):
        meta = read_json(os.path.join(self.previous_dir, 'meta.json'))
        if not meta:
            raise UpdateError('no previous files kept in %s' % self.previous_dir)
        for member in meta['members']:
            saved = os.path.join(self.previous_dir, 'files', member)
            dest = os.path.join(meta['prefix'], member)
            if os.path.lexists(saved):
                self._swap_in(saved, dest)
            elif os.path.isdir(dest) and not os.path.islink(dest):
                shutil.rmtree(dest)
            elif os.path.lexists(dest):
                os.unlink(dest)
        log('restored the files of version %s' % meta.get('version'))
        return self.current()


class DockerAPI(object):
    """Minimal Docker Engine API client over the unix socket (no docker CLI needed)."""

    def __init__(self, socket_path):
        self.socket_path = socket_path

    def request(self, method, path, body=None, timeout=900, stream=False):
        conn = container_api.UnixHTTPConnection(self.socket_path, timeout)
        headers = {'Host': 'docker'}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers['Content-Type'] = 'application/json'
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        conn.close()
        text = raw.decode('utf-8', 'replace')
        if response.status >= 400:
            try:
                message = json.loads(text).get('message', text)
            except ValueError:
                message = text
            raise UpdateError('Docker API %s %s: HTTP %s: %s' % (
                method, path.split('?')[0], response.status, message.strip()))
        if stream:
            return [json.loads(line) for line in text.splitlines() if line.strip().startswith('{')]
        return json.loads(text) if text.strip() else None


def split_image_ref(ref):
    """'repo/name:tag' -> ('repo/name', 'tag'); a port in the registry host is not a tag."""
    if '@' in ref:
        return ref.split('@', 1)[0], None
    name, tag = ref.rpartition(':')[0], ref.rpartition(':')[2]
    if not name or '/' in tag:
        return ref, 'latest'
    return name, tag


class ContainerRuntime(Runtime):
    def __init__(self, cfg, status):
        super(ContainerRuntime, self).__init__(cfg, status)
        container = cfg.get('container') or {}
        self.container = container.get('name')
        if not self.container:
            raise ConfigError('container runtime %s needs container.name' % self.name)
        self.image = container.get('image')
        self.stop_timeout = int(container.get('stop_timeout') or 30)
        self.api = DockerAPI(container.get('docker_socket') or '/var/run/docker.sock')
        self.prev_name = '%s-aihost-previous' % self.container
        self._inspect = None

    def inspect(self):
        if self._inspect is None:
            self._inspect = self.api.request('GET', '/containers/%s/json' % urlquote(self.container))
        return self._inspect

    def image_ref(self):
        ref = self.image or (self.inspect().get('Config') or {}).get('Image')
        if not ref or '@sha256:' in ref or ref.startswith('sha256:'):
            raise UpdateError('%s runs %r: pinned by digest, nothing to update (set container.image)' % (
                self.container, ref))
        return ref

    def current(self):
        return self.inspect().get('Image')

    def pinned(self):
        return True

    def available(self):
        ref = self.image_ref()
        if self.status.get('policy') == 'apply':
            name, tag = split_image_ref(ref)
            log('pulling %s' % ref)
            events = self.api.request('POST', '/images/create?fromImage=%s&tag=%s' % (urlquote(name), urlquote(tag)),
                                      stream=True)
            failures = [e.get('error') or e.get('errorDetail') for e in events if e.get('error') or e.get('errorDetail')]
            if failures:
                raise UpdateError('pull of %s failed: %s' % (ref, failures[-1]))
            return self.api.request('GET', '/images/%s/json' % urlquote(ref)).get('Id')
        # notify: compare the registry's digest with the local image's, pulling nothing.
        remote = self.api.request('GET', '/distribution/%s/json' % urlquote(ref)).get('Descriptor', {}).get('digest')
        local = self.api.request('GET', '/images/%s/json' % urlquote(self.current()))
        if remote and any(d.endswith('@' + remote) for d in local.get('RepoDigests') or []):
            return self.current()
        return 'registry:%s' % remote if remote else None

    def apply(self, current, available):
        old = self.inspect()
        old_image = self.api.request('GET', '/images/%s/json' % urlquote(old['Image'])).get('Config') or {}
        body = recreate_body(old, old_image, self.image_ref())
        was_running = (old.get('State') or {}).get('Running')
        log('recreating %s on image %s (was %s)' % (self.container, available, current))
        self.modified = True
        self.api.request('POST', '/containers/%s/rename?name=%s' % (old['Id'], urlquote(self.prev_name)))
        if was_running:
            self.api.request('POST', '/containers/%s/stop?t=%d' % (old['Id'], self.stop_timeout))
        try:
            created = self.api.request('POST', '/containers/create?name=%s' % urlquote(self.container), body=body)
            self.api.request('POST', '/containers/%s/start' % created['Id'])
        except UpdateError:
            self.rollback()
            raise

    def after_success(self):
        try:
            self.api.request('DELETE', '/containers/%s' % urlquote(self.prev_name))
        except UpdateError as exc:
            warn('could not remove %s: %s' % (self.prev_name, exc))

    def rollback(self, current=None):
        try:
            prev = self.api.request('GET', '/containers/%s/json' % urlquote(self.prev_name))
        except UpdateError:
            raise UpdateError('no previous container %s to roll back to' % self.prev_name)
        try:
            self.api.request('DELETE', '/containers/%s?force=1' % urlquote(self.container))
        except UpdateError:
            pass
        self.api.request('POST', '/containers/%s/rename?name=%s' % (prev['Id'], urlquote(self.container)))
        self.api.request('POST', '/containers/%s/start' % prev['Id'])
        self._inspect = None
        return self.current()


def urlquote(value):
    return urllib.request.quote(value, safe='')


RUNTIME_CLASSES = {'pip': PipRuntime, 'binary': BinaryRuntime, 'container': ContainerRuntime}


# ---------------------------------------------------------------------------------------------
def load_config(path):
    try:
        with open(path) as handle:
            cfg = json.load(handle)
    except (OSError, ValueError) as exc:
        raise ConfigError('cannot read %s: %s' % (path, exc))
    for key in ('name', 'kind', 'policy', 'status_dir'):
        if not cfg.get(key):
            raise ConfigError('%s: %s is missing' % (path, key))
    if cfg['kind'] not in KINDS:
        raise ConfigError('%s: kind %r is not one of %s' % (path, cfg['kind'], ', '.join(KINDS)))
    if cfg['policy'] not in POLICIES:
        raise ConfigError('%s: policy %r is not one of %s' % (path, cfg['policy'], ', '.join(POLICIES)))
    return cfg


def execute(cfg, mode):
    """Run one check/update; returns (exit code, status dict)."""
    started = time.monotonic()
    previous_status = read_json(os.path.join(cfg['status_dir'], cfg['name'] + '.json'), {}) or {}
    policy = 'notify' if mode == 'check' else cfg['policy']
    status = {
        'schema_version': SCHEMA_VERSION, 'runtime': cfg['name'], 'kind': cfg['kind'], 'policy': policy,
        'unit': cfg.get('unit'), 'checked_at': utcnow(), 'current': None, 'available': None,
        'action': 'none', 'result': 'error', 'message': '', 'health': None,
        'last_change': previous_status.get('last_change'),
    }
    code = EXIT_FAILED
    runtime = None
    try:
        runtime = RUNTIME_CLASSES[cfg['kind']](cfg, status)
        if mode == 'rollback':
            status['action'] = 'rollback'
            status['current'] = runtime.current()
            restored = runtime.rollback(status['current'])
            restart_unit(runtime.unit)
            ok, detail = runtime.healthy()
            status.update({'result': 'rolled_back', 'health': {'ok': ok, 'detail': detail},
                           'message': 'manual rollback from %s to %s' % (status['current'], restored)})
            status['last_change'] = {'from': status['current'], 'to': restored, 'at': utcnow(), 'result': 'rolled_back'}
            status['current'] = restored
            return (EXIT_OK if ok else EXIT_FAILED), status
        status['current'] = runtime.current()
        status['available'] = runtime.available()
        verdict = decide(status['current'], status['available'], runtime.pinned())
        if verdict == 'up_to_date':
            status.update({'result': 'up_to_date', 'message': '%s is current (%s)' % (cfg['name'], status['current'])})
            return EXIT_OK, status
        if policy == 'notify':
            status.update({'action': 'notify', 'result': 'update_available',
                           'message': 'update available: %s -> %s (policy notify: nothing changed)' % (
                               status['current'], status['available'])})
            return EXIT_OK, status
        status['action'] = 'update'
        previous = status['current']
        try:
            runtime.apply(previous, status['available'])
            restart_unit(runtime.unit)
            ok, detail = runtime.healthy()
        except UpdateError as exc:
            if not runtime.modified:
                status.update({'result': 'failed',
                               'message': 'update %s -> %s failed before anything changed: %s' % (
                                   previous, status['available'], exc)})
                return EXIT_FAILED, status
            ok, detail = False, str(exc)
        status['health'] = {'ok': ok, 'detail': detail}
        if ok:
            status['current'] = runtime.current()
            if hasattr(runtime, 'after_success'):
                runtime.after_success()
            status.update({'result': 'updated', 'previous': previous,
                           'message': 'updated %s -> %s' % (previous, status['current'])})
            status['last_change'] = {'from': previous, 'to': status['current'], 'at': utcnow(), 'result': 'updated'}
            return EXIT_OK, status
        error('update to %s failed: %s; rolling back to %s' % (status['available'], detail, previous))
        try:
            restored = runtime.rollback(previous)
            restart_unit(runtime.unit)
            ok_after, detail_after = runtime.healthy()
        except UpdateError as exc:
            status.update({'result': 'failed', 'current': None,
                           'message': 'update to %s failed (%s) and the rollback failed too: %s' % (
                               status['available'], detail, exc)})
            return EXIT_FAILED, status
        status.update({'result': 'rolled_back', 'current': restored, 'previous': previous,
                       'rollback_health': {'ok': ok_after, 'detail': detail_after},
                       'message': 'update %s -> %s failed its health check (%s); rolled back to %s' % (
                           previous, status['available'], detail, restored)})
        status['last_change'] = {'from': previous, 'to': status['available'], 'at': utcnow(),
                                 'result': 'rolled_back'}
        return EXIT_FAILED, status
    except ConfigError as exc:
        status.update({'result': 'error', 'message': str(exc)})
        return EXIT_CONFIG, status
    except (UpdateError, OSError, urllib.error.URLError, http.client.HTTPException) as exc:
        status.update({'result': 'error', 'message': str(exc)})
        return code, status
    finally:
        status['duration_s'] = round(time.monotonic() - started, 1)


def main(argv=None):
    parser = argparse.ArgumentParser(description='Check for and apply updates of one local-AI runtime.')
    parser.add_argument('--config', required=True, help='runtime configuration (JSON) written by the role')
    parser.add_argument('--lib', help="where the command found this library (read by the command, not here)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--check', action='store_true', help='report only (policy notify), change nothing')
    group.add_argument('--rollback', action='store_true', help='restore the version kept before the last update')
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        error(str(exc))
        return EXIT_CONFIG
    # CA bundle and proxy settings from the role: the same for the timer's runs and manual ones.
    os.environ.update(dict((str(k), str(v)) for k, v in (cfg.get('environment') or {}).items()))
    os.makedirs(cfg['status_dir'], mode=0o755, exist_ok=True)
    lock_path = os.path.join(cfg['status_dir'], '.%s.lock' % cfg['name'])
    with open(lock_path, 'w') as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                error('another update of %s is running' % cfg['name'])
                return EXIT_FAILED
            raise
        mode = 'check' if args.check else ('rollback' if args.rollback else 'run')
        log('%s: %s (kind %s, policy %s)' % (cfg['name'], mode, cfg['kind'], 'notify' if args.check else cfg['policy']))
        code, status = execute(cfg, mode)
        write_json_atomic(os.path.join(cfg['status_dir'], cfg['name'] + '.json'), status)
        summary = '%s: result=%s current=%s available=%s: %s' % (
            cfg['name'], status['result'], status.get('current'), status.get('available'), status['message'])
        (log if code == EXIT_OK else error)(summary)
        return code
