# -*- coding: utf-8 -*-
# Copyright: contributors to aihost.hardening
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""GPU, accelerator and NVIDIA Container Toolkit detection for aihost.hardening.gpu_facts.

Two layers:
- pure parsers (``parse_*``, ``classify_*``, ``summarize``): text in, plain data out, no I/O;
- readers that look at a host tree through ``HostTree``, which takes a ``root`` prefix (``/`` in
  production) and an injectable ``stat`` function, so unit tests can point everything at a fixture
  tree whose device nodes cannot be real character devices.

Everything here reads; nothing writes. Only the Python standard library is used (targets may run
Python 3.8+). Problems with one input (unreadable file, garbage in a version file, broken JSON) become
a warning and that input is skipped; they never raise.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import errno
import glob
import json
import os
import re
import stat as stat_module
from xml.etree import ElementTree

from ansible_collections.aihost.hardening.plugins.module_utils import packages

try:
    import grp
    import pwd
except ImportError:  # pragma: no cover - not Linux
    grp = None
    pwd = None

SCHEMA_VERSION = 1

VENDORS = {
    '0x10de': 'nvidia',
    '0x1002': 'amd',
    '0x1022': 'amd',
    '0x8086': 'intel',
    '0x1da3': 'habana',
}

# Display-class devices that only drive a console: server BMCs and emulated VGA. They are reported
# as display_adapters, not as GPUs, so a CPU-only server with a BMC is still called CPU-only.
BASIC_DISPLAY_VENDORS = {
    '0x1a03': 'ASPEED',
    '0x102b': 'Matrox',
    '0x1234': 'QEMU/Bochs',
    '0x1013': 'Cirrus Logic',
    '0x15ad': 'VMware',
    '0x1af4': 'virtio',
    '0x1414': 'Microsoft Hyper-V',
    '0x1b36': 'Red Hat QXL',
    '0x80ee': 'VirtualBox',
}

# PCI base class 0x03 (display) and 0x12 (processing accelerator). Keyed by base class + subclass.
PCI_CLASS_NAMES = {
    0x0300: 'VGA compatible controller',
    0x0301: 'XGA compatible controller',
    0x0302: '3D controller',
    0x0380: 'Display controller',
    0x1200: 'Processing accelerator',
}
PCI_BASE_DISPLAY = 0x03
PCI_BASE_ACCELERATOR = 0x12

# Kernel modules whose presence and version the facts report.
KERNEL_MODULES = (
    'nvidia', 'nvidia_uvm', 'nvidia_modeset', 'nvidia_drm', 'nvidia_peermem',
    'amdgpu', 'amdxdna',
    'i915', 'xe', 'intel_vpu',
    'habanalabs', 'qaic',
)
NVIDIA_MODULES = ('nvidia', 'nvidia_uvm', 'nvidia_modeset', 'nvidia_drm', 'nvidia_peermem')
INTEL_GPU_MODULES = ('i915', 'xe')

# Device node globs, in report order, with the kind each one belongs to.
DEVICE_NODE_GLOBS = (
    ('/dev/nvidia[0-9]*', 'nvidia'),
    ('/dev/nvidiactl', 'nvidia'),
    ('/dev/nvidia-modeset', 'nvidia'),
    ('/dev/nvidia-uvm*', 'nvidia'),
    ('/dev/nvidia-nvlink', 'nvidia'),
    ('/dev/nvidia-nvswitch*', 'nvidia'),
    ('/dev/nvidia-caps/*', 'nvidia'),
    ('/dev/nvidia-caps-imex-channels/*', 'nvidia'),
    ('/dev/kfd', 'kfd'),
    ('/dev/dri/*', 'dri'),
    ('/dev/accel/*', 'accel'),
)

# Where binaries live when they are not on the module's PATH (Debian keeps the real nvidia-smi in
# /usr/lib/nvidia/current; GPU containers get /usr/local/nvidia/bin).
STANDARD_BIN_DIRS = (
    '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin',
    '/usr/local/nvidia/bin', '/usr/lib/nvidia/current',
)

# Where the NVML library lives. The CUDA toolkit's stubs directory is left out on purpose: a stub
# libnvidia-ml.so is not the driver's user space.
NVML_LIB_DIRS = (
    '/usr/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu/nvidia/current',
    '/usr/lib/aarch64-linux-gnu', '/usr/lib/aarch64-linux-gnu/nvidia/current',
    '/usr/lib64', '/usr/lib64/nvidia', '/usr/lib', '/usr/lib/nvidia',
    '/usr/local/nvidia/lib64', '/usr/local/nvidia/lib',
)
NVML_LIB_NAMES = ('libnvidia-ml.so.1', 'libnvidia-ml.so')

CONTAINER_TOOLKIT_BINARIES = (
    'nvidia-ctk', 'nvidia-container-runtime', 'nvidia-container-runtime-hook',
    'nvidia-container-cli', 'nvidia-cdi-hook',
)
CONTAINER_TOOLKIT_PACKAGES = (
    'nvidia-container-toolkit', 'nvidia-container-toolkit-base',
    'libnvidia-container-tools', 'libnvidia-container1',
)
NCT_CONFIG_PATH = '/etc/nvidia-container-runtime/config.toml'
DOCKER_DAEMON_JSON = '/etc/docker/daemon.json'
CDI_SPEC_DIRS = ('/etc/cdi', '/var/run/cdi')
CDI_SPEC_SUFFIXES = ('.yaml', '.yml', '.json')
DPKG_STATUS = '/var/lib/dpkg/status'

# dpkg packages reported under `packages` (exact names, then name prefixes).
PACKAGE_NAMES = CONTAINER_TOOLKIT_PACKAGES + (
    'nvidia-smi', 'libnvidia-ml1', 'nvidia-cuda-toolkit', 'rocm-core', 'amdgpu-dkms',
)
PACKAGE_PREFIXES = ('nvidia-driver', 'nvidia-kernel-', 'nvidia-open-kernel', 'nvidia-open',
                    'cuda-toolkit', 'cuda-drivers')

NVIDIA_SMI_QUERY_FIELDS = ('index', 'name', 'uuid', 'pci.bus_id', 'driver_version', 'memory.total')

_VERSION_RE = re.compile(r'^\d+(?:\.\d+)+(?:[-+~][0-9A-Za-z.+~-]+)?$')
_NVRM_RE = re.compile(
    r'NVRM version:\s*NVIDIA UNIX\s+(?P<desc>.*?Kernel Module(?: for \S+)?)\s+(?P<version>\d+(?:\.\d+)+)')
_NVML_VERSION_RE = re.compile(r'libnvidia-ml\.so\.(\d+\.\d+(?:\.\d+)?)$')
_NCT_VERSION_RE = re.compile(r'version\s+v?(\d+\.\d+\.\d+[0-9A-Za-z.~+-]*)')
_PCI_ADDRESS_RE = re.compile(r'^(?:([0-9a-fA-F]{4,8}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$')


# --------------------------------------------------------------------------------------------
# Host tree: every file system access goes through here.
# --------------------------------------------------------------------------------------------

def _default_user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name if pwd else None
    except KeyError:
        return None


def _default_group_name(gid):
    try:
        return grp.getgrgid(gid).gr_name if grp else None
    except KeyError:
        return None


class HostTree:
    """Read-only view of a host's file system under ``root``.

    ``stat`` (default ``os.stat``) gives device-node metadata; ``user_name``/``group_name`` turn
    uid/gid into names (default: the system's passwd/group databases). Problems land in
    ``warnings`` instead of raising.
    """

    def __init__(self, root='/', stat=None, user_name=None, group_name=None):
        self.root = os.path.abspath(root).rstrip('/')
        self.stat_fn = stat or os.stat
        self.user_name = user_name or _default_user_name
        self.group_name = group_name or _default_group_name
        self.warnings = []

    def warn(self, message):
        if message not in self.warnings:
            self.warnings.append(message)

    def path(self, host_path):
        """Real path of a host-absolute path such as ``/proc/modules``."""
        return self.root + host_path

    def host_path(self, real_path):
        """Host-absolute path of a real path under ``root``."""
        if self.root and real_path.startswith(self.root + '/'):
            return real_path[len(self.root):]
        return real_path

    def read(self, host_path, limit=1024 * 1024):
        """Text of a file, or None when it is missing (silently) or unreadable (with a warning)."""
        try:
            with open(self.path(host_path), 'rb') as handle:
                data = handle.read(limit)
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                self.warn('cannot read %s: %s' % (host_path, exc.strerror or exc))
            return None
        return data.decode('utf-8', 'replace')

    def exists(self, host_path):
        return os.path.exists(self.path(host_path))

    def isdir(self, host_path):
        return os.path.isdir(self.path(host_path))

    def islink(self, host_path):
        return os.path.islink(self.path(host_path))

    def listdir(self, host_path):
        """Sorted entries of a directory; [] when it is missing, with a warning when unreadable."""
        try:
            return sorted(os.listdir(self.path(host_path)))
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                self.warn('cannot list %s: %s' % (host_path, exc.strerror or exc))
            return []

    def glob(self, pattern):
        return sorted(self.host_path(p) for p in glob.glob(self.path(pattern)))

    def link_name(self, host_path):
        """Basename of a symlink's target (e.g. a PCI device's ``driver``), or None."""
        try:
            return os.path.basename(os.readlink(self.path(host_path)).rstrip('/')) or None
        except OSError:
            return None

    def resolve(self, host_path, max_links=40):
        """Follow symlinks the way the host would (absolute targets stay under ``root``).

        Returns the host-absolute path of what ``host_path`` points to, or None when it does not
        exist or the links loop.
        """
        pending = [p for p in host_path.split('/') if p]
        done = []
        links = 0
        while pending:
            part = pending.pop(0)
            if part == '.':
                continue
            if part == '..':
                if done:
                    done.pop()
                continue
            current = self.path('/' + '/'.join(done + [part]))
            if os.path.islink(current):
                links += 1
                if links > max_links:
                    return None
                try:
                    target = os.readlink(current)
                except OSError:
                    return None
                if target.startswith('/'):
                    done = []
                pending = [p for p in target.split('/') if p] + pending
                continue
            done.append(part)
        result = '/' + '/'.join(done)
        return result if os.path.exists(self.path(result)) else None

    def stat(self, host_path):
        try:
            return self.stat_fn(self.path(host_path))
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                self.warn('cannot stat %s: %s' % (host_path, exc.strerror or exc))
            return None


# --------------------------------------------------------------------------------------------
# Pure parsers
# --------------------------------------------------------------------------------------------

def parse_hex_id(text):
    """'0x10de\\n' -> '0x10de'; garbage -> None."""
    if text is None:
        return None
    value = text.strip().lower()
    if not re.match(r'^0x[0-9a-f]{1,8}$', value):
        return None
    return value


def parse_pci_class(text):
    """'0x030200\\n' -> 0x030200 (24-bit class code); garbage -> None."""
    value = parse_hex_id(text)
    if value is None:
        return None
    number = int(value, 16)
    return number if number <= 0xffffff else None


def classify_pci_class(class_code):
    """Return (kind, class_name): kind is 'gpu', 'accelerator' or None (not ours)."""
    if class_code is None:
        return None, None
    base = class_code >> 16
    base_sub = class_code >> 8
    if base == PCI_BASE_DISPLAY:
        return 'gpu', PCI_CLASS_NAMES.get(base_sub, 'Display controller')
    if base == PCI_BASE_ACCELERATOR:
        return 'accelerator', PCI_CLASS_NAMES.get(base_sub, 'Processing accelerator')
    return None, None


def vendor_name(vendor_id):
    return VENDORS.get(vendor_id, 'other')


def normalize_pci_address(text):
    """'00000000:B1:00.0' (nvidia-smi) or '0000:b1:00.0' (sysfs) -> '0000:b1:00.0'; else None."""
    if not text:
        return None
    match = _PCI_ADDRESS_RE.match(text.strip())
    if not match:
        return None
    domain = int(match.group(1) or '0', 16)
    return '%04x:%s:%s.%s' % (domain, match.group(2).lower(), match.group(3).lower(), match.group(4))


def parse_proc_modules(text):
    """/proc/modules -> set of loaded module names."""
    names = set()
    for line in (text or '').splitlines():
        fields = line.split()
        if fields:
            names.add(fields[0])
    return names


def parse_proc_devices(text):
    """/proc/devices -> {major: name} for character devices."""
    majors = {}
    in_char = False
    for line in (text or '').splitlines():
        stripped = line.strip()
        if stripped.endswith('devices:'):
            in_char = stripped.lower().startswith('character')
            continue
        if not in_char:
            continue
        fields = stripped.split(None, 1)
        if len(fields) == 2 and fields[0].isdigit():
            majors[int(fields[0])] = fields[1]
    return majors


def parse_version_text(text):
    """A one-line version file ('550.54.14\\n', '6.2.4-120') -> the version, or None if garbage."""
    if text is None:
        return None
    value = text.strip()
    if '\n' in value or not _VERSION_RE.match(value):
        return None
    return value


def parse_nvidia_proc_version(text):
    """/proc/driver/nvidia/version -> {version, branch, flavour, gcc_version} or None.

    Proprietary:  'NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb 22 ...'
    Open modules: 'NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  550.54.14  Release Build ...'
    """
    if not text:
        return None
    match = _NVRM_RE.search(text)
    if not match:
        return None
    version = match.group('version')
    gcc = None
    gcc_match = re.search(r'^GCC version:\s*(.+?)\s*$', text, re.MULTILINE)
    if gcc_match:
        gcc = gcc_match.group(1)
    return {
        'version': version,
        'branch': version.split('.')[0],
        'flavour': 'open' if 'Open Kernel Module' in match.group('desc') else 'proprietary',
        'gcc_version': gcc,
    }


def flavour_from_taint(text):
    """/sys/module/nvidia/taint: 'P' marks a proprietary module; the open modules are GPL/MIT."""
    if text is None:
        return None
    flags = text.strip()
    if not re.match(r'^[A-Z]*$', flags):
        return None
    return 'proprietary' if 'P' in flags else 'open'


def parse_nvidia_gpu_information(text):
    """/proc/driver/nvidia/gpus/<addr>/information -> {model, uuid, minor, bus_location}."""
    result = {'model': None, 'uuid': None, 'minor': None, 'bus_location': None}
    keys = {'Model': 'model', 'GPU UUID': 'uuid', 'Device Minor': 'minor', 'Bus Location': 'bus_location'}
    for line in (text or '').splitlines():
        if ':' not in line:
            continue
        key, value = line.split(':', 1)
        field = keys.get(key.strip())
        if field is None:
            continue
        value = value.strip()
        if field == 'minor':
            result[field] = int(value) if value.isdigit() else None
        else:
            result[field] = value or None
    return result


def parse_cuda_version_json(text):
    """/usr/local/cuda/version.json (CUDA 11.1+): {"cuda": {"version": "12.2.1"}} -> '12.2.1'."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError('top level is not an object')
    cuda = data.get('cuda')
    version = cuda.get('version') if isinstance(cuda, dict) else None
    if not isinstance(version, str) or not _VERSION_RE.match(version.strip()):
        raise ValueError('no "cuda": {"version": ...} entry')
    return version.strip()


def parse_cuda_version_txt(text):
    """/usr/local/cuda/version.txt (up to CUDA 11.0): 'CUDA Version 10.2.89' -> '10.2.89'."""
    match = re.search(r'^CUDA Version\s+(\d+(?:\.\d+)+)\s*$', text or '', re.MULTILINE)
    return match.group(1) if match else None


def parse_nvidia_ctk_version(text):
    """'NVIDIA Container Toolkit CLI version 1.17.8\\ncommit: ...' -> '1.17.8'."""
    match = _NCT_VERSION_RE.search(text or '')
    return match.group(1) if match else None


def upstream_version(debian_version):
    """'1:1.17.8-1' -> '1.17.8' (drop the epoch and the Debian revision)."""
    if not debian_version:
        return None
    version = debian_version.split(':', 1)[-1]
    if '-' in version:
        version = version.rsplit('-', 1)[0]
    return version


def _wanted_package(name):
    return name in PACKAGE_NAMES or name.startswith(PACKAGE_PREFIXES)


def parse_dpkg_status(text, wanted=_wanted_package):
    """/var/lib/dpkg/status -> {package: version} for installed packages that ``wanted`` accepts
    (the one dpkg parser, ``packages.dpkg_paragraphs``; only a fully installed package counts)."""
    return dict((fields['Package'], fields.get('Version'))
                for fields in packages.dpkg_paragraphs(text, wanted=wanted)
                if fields.get('Status', '').split()[2:] == ['installed'])


def _toml_value(raw):
    raw = raw.strip()
    if raw in ('true', 'false'):
        return raw == 'true'
    if re.match(r'^[+-]?\d+$', raw):
        return int(raw)
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in ('"', "'"):
        body = raw[1:-1]
        return body.replace('\\\\', '\\').replace('\\"', '"') if raw[0] == '"' else body
    if raw.startswith('[') and raw.endswith(']'):
        return [_toml_value(item) for item in _split_toml_array(raw[1:-1])]
    if not raw:
        raise ValueError('missing value')
    # Floats, dates, inline tables: not used by config.toml's security keys; keep the raw text.
    return raw


def _split_toml_array(body):
    items, current, quote = [], '', None
    for char in body:
        if quote:
            current += char
            if char == quote:
                quote = None
        elif char in ('"', "'"):
            quote = char
            current += char
        elif char == ',':
            if current.strip():
                items.append(current)
            current = ''
        else:
            current += char
    if current.strip():
        items.append(current)
    return items


def _strip_toml_comment(line):
    quote = None
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in ('"', "'"):
            quote = char
        elif char == '#':
            return line[:index]
    return line


def parse_toml_minimal(text):
    """Parse the subset of TOML that config.toml uses: [tables], key = value, arrays.

    Returns ({"table.key": value}, [problems]). Commented-out keys are not settings and are skipped.
    There is no TOML parser in the standard library before Python 3.11.
    """
    values = {}
    problems = []
    table = ''
    pending = ''
    pending_line = 0
    for number, line in enumerate((text or '').splitlines(), 1):
        line = _strip_toml_comment(line).strip()
        if pending:
            pending += ' ' + line
            if pending.count('[') > pending.count(']'):
                continue
            line, number = pending, pending_line
            pending = ''
        if not line:
            continue
        if line.startswith('[') and '=' not in line:
            match = re.match(r'^\[\s*([A-Za-z0-9_.\-"]+)\s*\]$', line)
            if not match:
                problems.append('line %d: bad table header' % number)
                table = None
                continue
            table = match.group(1).replace('"', '')
            continue
        if '=' not in line:
            problems.append('line %d: not a key = value line' % number)
            continue
        key, raw = line.split('=', 1)
        raw = raw.strip()
        if raw.startswith('[') and raw.count('[') > raw.count(']'):
            pending, pending_line = line, number
            continue
        if table is None:
            continue
        key = key.strip().strip('"')
        try:
            values[(table + '.' if table else '') + key] = _toml_value(raw)
        except ValueError as exc:
            problems.append('line %d: %s' % (number, exc))
    if pending:
        problems.append('line %d: unterminated array' % pending_line)
    return values, problems


def parse_docker_daemon_json(text):
    """daemon.json -> (runtimes {name: path}, default_runtime). Raises ValueError when broken."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError('top level is not an object')
    runtimes = {}
    raw_runtimes = data.get('runtimes', {})
    if not isinstance(raw_runtimes, dict):
        raise ValueError('"runtimes" is not an object')
    for name, spec in sorted(raw_runtimes.items()):
        runtimes[name] = spec.get('path') if isinstance(spec, dict) else None
    default = data.get('default-runtime')
    return runtimes, default if isinstance(default, str) else None


def _yaml_scalar(raw):
    raw = raw.strip()
    if ' #' in raw:
        raw = raw.split(' #', 1)[0].rstrip()
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in ('"', "'"):
        return raw[1:-1]
    return raw


def parse_cdi_spec_yaml(text):
    """Read cdiVersion, kind and device names from a CDI spec in YAML without a YAML library.

    Handles the block style nvidia-ctk writes ('devices:' then '- name: ...' or '- containerEdits:'
    items whose 'name:' sits at the item's indentation) and flow-free specs in general.
    """
    result = {'cdi_version': None, 'kind': None, 'devices': []}
    in_devices = False
    item_indent = None
    for line in (text or '').splitlines():
        if not line.strip() or line.lstrip().startswith('#') or line.strip() in ('---', '...'):
            continue
        indent = len(line) - len(line.lstrip(' '))
        body = line.strip()
        if indent == 0 and not body.startswith('-'):
            key, _sep, value = body.partition(':')
            in_devices = key == 'devices' and not value.strip()
            item_indent = None
            if key == 'cdiVersion':
                result['cdi_version'] = _yaml_scalar(value) or None
            elif key == 'kind':
                result['kind'] = _yaml_scalar(value) or None
            continue
        if not in_devices:
            continue
        if body.startswith('- ') or body == '-':
            if item_indent is None:
                item_indent = indent
            if indent != item_indent:
                continue
            body = body[1:].strip()
            if body.startswith('name:'):
                result['devices'].append(_yaml_scalar(body[5:]))
            continue
        if item_indent is not None and indent == item_indent + 2 and body.startswith('name:'):
            result['devices'].append(_yaml_scalar(body[5:]))
    return result


def parse_cdi_spec_json(text):
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError('top level is not an object')
    devices = data.get('devices') or []
    names = []
    if isinstance(devices, list):
        names = [str(d.get('name')) for d in devices if isinstance(d, dict) and d.get('name') is not None]
    return {'cdi_version': data.get('cdiVersion'), 'kind': data.get('kind'), 'devices': names}


def _nvsmi_value(value):
    value = (value or '').strip()
    if not value or value in ('[N/A]', 'N/A', '[Not Supported]', '[Unknown Error]'):
        return None
    return value


def _empty_smi_gpu():
    return {
        'index': None, 'name': None, 'uuid': None, 'pci_address': None, 'driver_version': None,
        'memory_total_mib': None, 'minor_number': None, 'architecture': None,
        'persistence_mode': None, 'compute_mode': None, 'mig_mode': None, 'vbios_version': None,
    }


def _mib(text):
    text = _nvsmi_value(text)
    if text is None:
        return None
    match = re.match(r'^(\d+)(?:\s*MiB)?$', text)
    return int(match.group(1)) if match else None


def parse_nvidia_smi_query(text):
    """Output of ``nvidia-smi --query-gpu=<NVIDIA_SMI_QUERY_FIELDS> --format=csv,noheader,nounits``."""
    gpus = []
    for row in csv.reader((text or '').splitlines(), skipinitialspace=True):
        if not row:
            continue
        if len(row) != len(NVIDIA_SMI_QUERY_FIELDS):
            raise ValueError('expected %d columns, got %d: %r' % (len(NVIDIA_SMI_QUERY_FIELDS), len(row), row))
        index, name, uuid, bus_id, driver, memory = [_nvsmi_value(v) for v in row]
        gpu = _empty_smi_gpu()
        gpu.update({
            'index': int(index) if index and index.isdigit() else None,
            'name': name, 'uuid': uuid, 'pci_address': normalize_pci_address(bus_id),
            'driver_version': driver, 'memory_total_mib': _mib(memory),
        })
        gpus.append(gpu)
    drivers = sorted(set(g['driver_version'] for g in gpus if g['driver_version']))
    return {'source': 'query', 'driver_version': drivers[0] if len(drivers) == 1 else None,
            'cuda_version': None, 'gpus': gpus}


def parse_nvidia_smi_xml(text):
    """Output of ``nvidia-smi -q -x`` (root element nvidia_smi_log, one <gpu id="..."> per GPU)."""
    root = ElementTree.fromstring(text.encode('utf-8') if isinstance(text, str) else text)
    if root.tag != 'nvidia_smi_log':
        raise ValueError('root element is %s, not nvidia_smi_log' % root.tag)

    def child(node, path):
        found = node.find(path)
        return _nvsmi_value(found.text) if found is not None else None

    gpus = []
    driver = child(root, 'driver_version')
    for index, node in enumerate(root.findall('gpu')):
        gpu = _empty_smi_gpu()
        minor = child(node, 'minor_number')
        gpu.update({
            'index': index,
            'name': child(node, 'product_name'),
            'uuid': child(node, 'uuid'),
            'pci_address': normalize_pci_address(child(node, 'pci/pci_bus_id') or node.get('id')),
            'driver_version': driver,
            'memory_total_mib': _mib(child(node, 'fb_memory_usage/total')),
            'minor_number': int(minor) if minor and minor.isdigit() else None,
            'architecture': child(node, 'product_architecture'),
            'persistence_mode': child(node, 'persistence_mode'),
            'compute_mode': child(node, 'compute_mode'),
            'mig_mode': child(node, 'mig_mode/current_mig'),
            'vbios_version': child(node, 'vbios_version'),
        })
        gpus.append(gpu)
    return {'source': 'xml', 'driver_version': driver, 'cuda_version': child(root, 'cuda_version'),
            'gpus': gpus}


def nvidia_state(kernel_module_loaded, userspace_present):
    if kernel_module_loaded and userspace_present:
        return 'ready'
    if kernel_module_loaded:
        return 'kernel_module_only'
    if userspace_present:
        return 'userspace_only'
    return 'absent'


def _plural(count, word):
    return '%d %s%s' % (count, word, '' if count == 1 else 's')


def summarize(facts):
    """One plain sentence about the host's GPUs and their software."""
    gpus = facts['gpus']
    accelerators = facts['accelerators']
    nvidia = facts['nvidia']
    parts = []
    if not gpus and not accelerators:
        parts.append('CPU-only host: no GPU or accelerator found')
    else:
        by_vendor = {}
        for gpu in gpus:
            by_vendor.setdefault(gpu['vendor'], []).append(gpu)
        for vendor in sorted(by_vendor):
            label = {'nvidia': 'NVIDIA', 'amd': 'AMD', 'intel': 'Intel'}.get(vendor, vendor)
            parts.append('%s %s GPU' % (len(by_vendor[vendor]), label)
                         + ('' if len(by_vendor[vendor]) == 1 else 's')
                         + ''.join(' (%s)' % n for n in sorted(set(
                             g['name'] for g in by_vendor[vendor] if g.get('name')))))
        if accelerators:
            parts.append(_plural(len(accelerators), 'accelerator') + ' (%s)' % ', '.join(sorted(set(
                a['driver'] or a['vendor'] for a in accelerators))))
    state = nvidia['state']
    if state == 'ready':
        parts.append('NVIDIA driver %s (%s) loaded' % (nvidia['driver_version'] or 'of unknown version',
                                                       nvidia['driver_flavour'] or 'unknown flavour'))
    elif state == 'kernel_module_only':
        parts.append('NVIDIA kernel module %s loaded but no NVIDIA user space (nvidia-smi, libnvidia-ml) found'
                     % (nvidia['driver_version'] or ''))
    elif state == 'userspace_only':
        parts.append('NVIDIA user space (nvidia-smi, libnvidia-ml) is installed but no NVIDIA kernel module is loaded')
    elif any(g['vendor'] == 'nvidia' for g in gpus):
        parts.append('no NVIDIA driver is installed')
    if facts['amd']['kernel_module_loaded']:
        parts.append('amdgpu loaded' + (', /dev/kfd present' if facts['amd']['kfd_present'] else ''))
    if facts['amd']['rocm_version']:
        parts.append('ROCm %s' % facts['amd']['rocm_version'])
    if facts['intel']['kernel_modules_loaded']:
        parts.append('Intel %s loaded' % ', '.join(facts['intel']['kernel_modules_loaded']))
    if facts['cuda']['version']:
        parts.append('CUDA toolkit %s' % facts['cuda']['version'])
    toolkit = facts['container_toolkit']
    if toolkit['installed']:
        parts.append('NVIDIA Container Toolkit %s' % (toolkit['version'] or 'of unknown version'))
    open_nodes = [n['path'] for n in facts['device_nodes'] if n['world_writable']]
    if open_nodes:
        parts.append('%s world-writable' % _plural(len(open_nodes), 'device node'))
    return '; '.join(parts) + '.'


# --------------------------------------------------------------------------------------------
# Readers
# --------------------------------------------------------------------------------------------

def read_kernel_modules(host):
    """{module: {loaded, version}} for KERNEL_MODULES. Loaded: in /proc/modules or /sys/module/<m>."""
    listed = parse_proc_modules(host.read('/proc/modules'))
    modules = {}
    for name in KERNEL_MODULES:
        loaded = name in listed or host.isdir('/sys/module/' + name)
        version = None
        if loaded:
            raw = host.read('/sys/module/%s/version' % name)
            version = parse_version_text(raw)
            if raw is not None and version is None:
                host.warn('ignored /sys/module/%s/version: not a version (%r)' % (name, raw.strip()[:40]))
        modules[name] = {'loaded': loaded, 'version': version}
    return modules


def read_pci_devices(host, kernel_modules):
    """(gpus, accelerators, display_adapters) from /sys/bus/pci/devices.

    GPUs: PCI base class 0x03 except BASIC_DISPLAY_VENDORS (display_adapters). Accelerators: class
    0x12, or any device with an accel node (AMD's NPU is a 0x1180 signal processing controller).
    """
    gpus, accelerators, display_adapters = [], [], []
    for address in host.listdir('/sys/bus/pci/devices'):
        base = '/sys/bus/pci/devices/' + address
        class_text = host.read(base + '/class')
        class_code = parse_pci_class(class_text)
        kind, class_name = classify_pci_class(class_code)
        accel_nodes = host.listdir(base + '/accel')
        if kind is None and accel_nodes:
            kind, class_name = 'accelerator', 'Accelerator (accel subsystem)'
        if kind is None:
            if class_text is not None and class_code is None:
                host.warn('ignored PCI device %s: unreadable class %r' % (address, class_text.strip()[:20]))
            continue
        vendor_id = parse_hex_id(host.read(base + '/vendor'))
        driver = host.link_name(base + '/driver')
        module = host.link_name(base + '/driver/module') or driver
        module_key = (module or '').replace('-', '_')
        nodes = ['/dev/dri/' + n for n in host.listdir(base + '/drm') if n.startswith(('card', 'render'))]
        nodes += ['/dev/accel/' + n for n in accel_nodes]
        device = {
            'pci_address': address,
            'vendor': vendor_name(vendor_id),
            'vendor_id': vendor_id,
            'device_id': parse_hex_id(host.read(base + '/device')),
            'subsystem_vendor_id': parse_hex_id(host.read(base + '/subsystem_vendor')),
            'subsystem_device_id': parse_hex_id(host.read(base + '/subsystem_device')),
            'class': '0x%06x' % class_code if class_code is not None else None,
            'class_name': class_name,
            'driver': driver,
            'driver_version': kernel_modules.get(module_key, {}).get('version'),
            'name': None,
            'uuid': None,
            'device_nodes': nodes,
        }
        if kind == 'accelerator':
            accelerators.append(device)
        elif vendor_id in BASIC_DISPLAY_VENDORS:
            device['vendor'] = BASIC_DISPLAY_VENDORS[vendor_id]
            display_adapters.append(device)
        else:
            gpus.append(device)
    return gpus, accelerators, display_adapters


def _node_entry(host, path, kind, char_majors):
    if host.islink(path):
        return None
    info = host.stat(path)
    if info is None or not stat_module.S_ISCHR(info.st_mode):
        return None
    mode = stat_module.S_IMODE(info.st_mode)
    major, minor = os.major(info.st_rdev), os.minor(info.st_rdev)
    return {
        'path': path,
        'kind': kind,
        'type': 'char',
        'major': major,
        'minor': minor,
        'major_name': char_majors.get(major),
        'owner': host.user_name(info.st_uid) or str(info.st_uid),
        'group': host.group_name(info.st_gid) or str(info.st_gid),
        'uid': info.st_uid,
        'gid': info.st_gid,
        'mode': '%04o' % mode,
        'world_readable': bool(mode & stat_module.S_IROTH),
        'world_writable': bool(mode & stat_module.S_IWOTH),
    }


def read_device_nodes(host):
    char_majors = parse_proc_devices(host.read('/proc/devices'))
    nodes, seen = [], set()
    for pattern, kind in DEVICE_NODE_GLOBS:
        for path in host.glob(pattern):
            if path in seen:
                continue
            seen.add(path)
            entry = _node_entry(host, path, kind, char_majors)
            if entry:
                nodes.append(entry)
    return nodes


def find_binary(host, name, path_env=None):
    """Host path of an executable called ``name`` on PATH or in STANDARD_BIN_DIRS, or None."""
    dirs = [d for d in (path_env or '').split(os.pathsep) if d.startswith('/')]
    dirs += [d for d in STANDARD_BIN_DIRS if d not in dirs]
    for directory in dirs:
        candidate = directory.rstrip('/') + '/' + name
        target = host.resolve(candidate)
        if target and os.path.isfile(host.path(target)) and os.access(host.path(target), os.X_OK):
            return candidate
    return None


def find_nvml(host):
    """(library path, user-space driver version from the versioned file name) or (None, None)."""
    for directory in NVML_LIB_DIRS:
        for name in NVML_LIB_NAMES:
            candidate = directory + '/' + name
            target = host.resolve(candidate)
            if target and os.path.isfile(host.path(target)):
                match = _NVML_VERSION_RE.search(target)
                return candidate, match.group(1) if match else None
    return None, None


def read_nvidia(host, kernel_modules, gpus, path_env):
    loaded = kernel_modules['nvidia']['loaded']
    facts = {
        'kernel_module_loaded': loaded,
        'kernel_modules_loaded': [m for m in NVIDIA_MODULES if kernel_modules[m]['loaded']],
        'driver_version': None,
        'driver_version_source': None,
        'driver_flavour': None,
        'driver_branch': None,
        'gcc_version': None,
        'userspace_present': False,
        'userspace_version': None,
        'version_mismatch': False,
        'nvidia_smi_path': find_binary(host, 'nvidia-smi', path_env),
        'nvml_library': None,
        'gpu_count': len([g for g in gpus if g['vendor'] == 'nvidia']),
        'nvidia_smi': None,
        'nvidia_smi_run': 'disabled',
        'state': 'absent',
    }
    facts['nvml_library'], facts['userspace_version'] = find_nvml(host)
    facts['userspace_present'] = bool(facts['nvidia_smi_path'] or facts['nvml_library'])

    raw = host.read('/proc/driver/nvidia/version')
    parsed = parse_nvidia_proc_version(raw)
    if raw is not None and parsed is None:
        host.warn('ignored /proc/driver/nvidia/version: no "NVRM version: ... Kernel Module <version>" line')
    if parsed:
        facts.update({'driver_version': parsed['version'], 'driver_flavour': parsed['flavour'],
                      'gcc_version': parsed['gcc_version'],
                      'driver_version_source': '/proc/driver/nvidia/version'})
    elif kernel_modules['nvidia']['version']:
        facts['driver_version'] = kernel_modules['nvidia']['version']
        facts['driver_version_source'] = '/sys/module/nvidia/version'
    if loaded and facts['driver_flavour'] is None:
        facts['driver_flavour'] = flavour_from_taint(host.read('/sys/module/nvidia/taint'))
    if facts['driver_version']:
        facts['driver_branch'] = facts['driver_version'].split('.')[0]
    if facts['driver_version'] and facts['userspace_version']:
        facts['version_mismatch'] = facts['driver_version'] != facts['userspace_version']

    # The driver's own per-GPU view: model name, UUID and the /dev/nvidiaN minor.
    for gpu in gpus:
        if gpu['vendor'] != 'nvidia':
            continue
        info = parse_nvidia_gpu_information(host.read('/proc/driver/nvidia/gpus/%s/information' % gpu['pci_address']))
        gpu['name'] = info['model']
        gpu['uuid'] = info['uuid']
        gpu['driver_version'] = gpu['driver_version'] or facts['driver_version']
        if info['minor'] is not None and host.exists('/dev/nvidia%d' % info['minor']):
            gpu['device_nodes'].insert(0, '/dev/nvidia%d' % info['minor'])
    facts['state'] = nvidia_state(loaded, facts['userspace_present'])
    return facts


def _rocm_install(host, path):
    raw = host.read(path + '/.info/version')
    version = parse_version_text(raw)
    if raw is not None and version is None:
        host.warn('ignored %s/.info/version: not a version (%r)' % (path, raw.strip()[:40]))
    return {'path': path, 'version': version}


def read_rocm(host):
    installs = [_rocm_install(host, p) for p in host.glob('/opt/rocm-*') if host.isdir(p) and not host.islink(p)]
    current = host.resolve('/opt/rocm')
    version = None
    if current:
        known = dict((i['path'], i['version']) for i in installs)
        version = known[current] if current in known else _rocm_install(host, current)['version']
    return {'version': version, 'path': current, 'installs': installs}


def _cuda_version_at(host, path):
    """(version, source) of the CUDA toolkit at ``path``.

    version.json (CUDA 11.1+), then version.txt (up to 11.0), then the X.Y of a ``cuda-X.Y``
    directory name (toolkits assembled from NVIDIA's pip wheels ship neither file).
    """
    raw = host.read(path + '/version.json')
    if raw is not None:
        try:
            return parse_cuda_version_json(raw), 'version.json'
        except ValueError as exc:
            host.warn('ignored %s/version.json: %s' % (path, exc))
    raw = host.read(path + '/version.txt')
    if raw is not None:
        version = parse_cuda_version_txt(raw)
        if version:
            return version, 'version.txt'
        host.warn('ignored %s/version.txt: no "CUDA Version x.y" line' % path)
    match = re.match(r'^cuda-(\d+\.\d+)$', os.path.basename(path))
    if match:
        return match.group(1), 'directory name'
    return None, None


def read_cuda(host):
    installs = []
    for path in host.glob('/usr/local/cuda-*'):
        # Symlinks such as /usr/local/cuda-12 (an alternative) are aliases, not installs.
        if host.isdir(path) and not host.islink(path):
            version, source = _cuda_version_at(host, path)
            installs.append({'path': path, 'version': version, 'version_source': source})
    current = host.resolve('/usr/local/cuda')
    facts = {'version': None, 'version_source': None, 'path': current, 'installs': installs}
    if current:
        known = dict((i['path'], (i['version'], i['version_source'])) for i in installs)
        facts['version'], facts['version_source'] = known.get(current) or _cuda_version_at(host, current)
    return facts


def read_cdi_specs(host):
    specs = []
    for directory in CDI_SPEC_DIRS:
        for name in host.listdir(directory):
            path = directory + '/' + name
            if not name.endswith(CDI_SPEC_SUFFIXES) or host.isdir(path):
                continue
            text = host.read(path)
            if text is None:
                continue
            try:
                spec = parse_cdi_spec_json(text) if name.endswith('.json') else parse_cdi_spec_yaml(text)
            except ValueError as exc:
                host.warn('ignored CDI spec %s: %s' % (path, exc))
                continue
            if not spec['kind'] or not spec['cdi_version']:
                host.warn('ignored CDI spec %s: no cdiVersion or kind' % path)
                continue
            spec['path'] = path
            specs.append(spec)
    return specs


def read_container_toolkit(host, packages, path_env):
    binaries = {}
    for name in CONTAINER_TOOLKIT_BINARIES:
        path = find_binary(host, name, path_env)
        if path:
            binaries[name] = path
    toolkit_packages = dict((k, v) for k, v in packages.items() if k in CONTAINER_TOOLKIT_PACKAGES)
    facts = {
        'installed': bool(binaries or toolkit_packages),
        'version': None,
        'version_source': None,
        'binaries': binaries,
        'packages': toolkit_packages,
        'config_path': None,
        'config': {},
        'docker_daemon_json': None,
        'docker_runtimes': {},
        'docker_default_runtime': None,
        'cdi_specs': read_cdi_specs(host),
    }
    for package in ('nvidia-container-toolkit', 'nvidia-container-toolkit-base'):
        if toolkit_packages.get(package):
            facts['version'] = upstream_version(toolkit_packages[package])
            facts['version_source'] = 'dpkg:' + package
            break

    text = host.read(NCT_CONFIG_PATH)
    if text is not None:
        facts['config_path'] = NCT_CONFIG_PATH
        facts['config'], problems = parse_toml_minimal(text)
        for problem in problems[:5]:
            host.warn('skipped part of %s: %s' % (NCT_CONFIG_PATH, problem))

    text = host.read(DOCKER_DAEMON_JSON)
    if text is not None:
        facts['docker_daemon_json'] = DOCKER_DAEMON_JSON
        try:
            facts['docker_runtimes'], facts['docker_default_runtime'] = parse_docker_daemon_json(text)
        except ValueError as exc:
            host.warn('ignored %s: %s' % (DOCKER_DAEMON_JSON, exc))
    return facts


def _empty_facts():
    return {
        'schema_version': SCHEMA_VERSION,
        'present': False,
        'gpus': [],
        'accelerators': [],
        'display_adapters': [],
        'kernel_modules': {},
        'nvidia': {
            'kernel_module_loaded': False, 'kernel_modules_loaded': [], 'driver_version': None,
            'driver_version_source': None, 'driver_flavour': None, 'driver_branch': None,
            'gcc_version': None, 'userspace_present': False, 'userspace_version': None,
            'version_mismatch': False, 'nvidia_smi_path': None, 'nvml_library': None, 'gpu_count': 0,
            'nvidia_smi': None, 'nvidia_smi_run': 'disabled', 'state': 'absent',
        },
        'amd': {'kernel_module_loaded': False, 'driver_version': None, 'gpu_count': 0,
                'kfd_present': False, 'rocm_version': None},
        'intel': {'kernel_modules_loaded': [], 'gpu_count': 0, 'npu_present': False,
                  'npu_module_loaded': False},
        'device_nodes': [],
        'cuda': {'version': None, 'version_source': None, 'path': None, 'installs': []},
        'rocm': {'version': None, 'path': None, 'installs': []},
        'container_toolkit': {
            'installed': False, 'version': None, 'version_source': None, 'binaries': {},
            'packages': {}, 'config_path': None, 'config': {}, 'docker_daemon_json': None,
            'docker_runtimes': {}, 'docker_default_runtime': None, 'cdi_specs': [],
        },
        'packages': {},
        'summary': '',
        'warnings': [],
    }


def _section(host, label, function, *args):
    """Run one collector; an unexpected error costs that section only, as a warning."""
    try:
        return function(host, *args)
    except Exception as exc:  # pylint: disable=broad-except
        host.warn('%s detection failed: %s: %s' % (label, type(exc).__name__, exc))
        return None


def _merge_nvidia_smi(facts, smi):
    by_address = dict((g['pci_address'], g) for g in facts['gpus'])
    for smi_gpu in smi['gpus']:
        gpu = by_address.get(smi_gpu['pci_address'])
        if gpu is not None:
            gpu['name'] = smi_gpu['name'] or gpu['name']
            gpu['uuid'] = gpu['uuid'] or smi_gpu['uuid']


def _run_tool(host, run_command, argv, label):
    """Run an optional extra source; (stdout or None). Failures are warnings."""
    try:
        rc, out, err = run_command(argv)
    except Exception as exc:  # pylint: disable=broad-except
        host.warn('%s could not run: %s' % (label, exc))
        return None
    if rc != 0:
        detail = (err or out or '').strip().splitlines()
        host.warn('%s exited with %s%s' % (label, rc, (': ' + detail[0][:200]) if detail else ''))
        return None
    return out


def _nvidia_smi_gate(host, nvidia, mode, run_command):
    """Whether nvidia-smi may run, as a word for the facts.

    NVML creates /dev/nvidiactl (and may ask nvidia-modprobe to load the module) when they are
    missing; run as root on a host without the driver, nvidia-smi leaves a new /dev/nvidiactl
    behind. A read-only module must not do that, so nvidia-smi runs only on a working driver.
    """
    if mode == 'never' or run_command is None:
        return 'disabled'
    if not nvidia['nvidia_smi_path']:
        return 'not_installed'
    if not nvidia['kernel_module_loaded']:
        return 'no_kernel_module'
    if not host.exists('/dev/nvidiactl'):
        return 'no_control_node'
    return 'ran'


def _run_nvidia_smi(host, facts, mode, run_command):
    smi_path = host.path(facts['nvidia']['nvidia_smi_path'])
    if mode == 'xml':
        out = _run_tool(host, run_command, [smi_path, '-q', '-x'], 'nvidia-smi -q -x')
        parser = parse_nvidia_smi_xml
    else:
        argv = [smi_path, '--query-gpu=' + ','.join(NVIDIA_SMI_QUERY_FIELDS), '--format=csv,noheader,nounits']
        out = _run_tool(host, run_command, argv, 'nvidia-smi --query-gpu')
        parser = parse_nvidia_smi_query
    if out is None:
        facts['nvidia']['nvidia_smi_run'] = 'failed'
        return
    try:
        smi = parser(out)
    except (ValueError, ElementTree.ParseError) as exc:
        facts['nvidia']['nvidia_smi_run'] = 'failed'
        host.warn('ignored nvidia-smi output: %s' % exc)
        return
    facts['nvidia']['nvidia_smi'] = smi
    _merge_nvidia_smi(facts, smi)


def _run_nvidia_ctk(host, toolkit, ctk_path, run_command):
    out = _run_tool(host, run_command, [host.path(ctk_path), '--version'], 'nvidia-ctk --version')
    if out is None:
        return
    version = parse_nvidia_ctk_version(out)
    if version is None:
        host.warn('ignored nvidia-ctk --version output: no version found')
        return
    toolkit['version'] = version
    toolkit['version_source'] = 'nvidia-ctk'


def collect(host, run_command=None, nvidia_smi='query', nvidia_ctk=True, path_env=None):
    """Build the ``aihost_gpu`` facts for the host seen through ``host``.

    ``run_command(argv) -> (rc, stdout, stderr)`` runs the optional extra sources (nvidia-smi,
    nvidia-ctk); with None they are not run. nvidia-smi runs only on a working driver (see
    ``_nvidia_smi_gate``).
    """
    facts = _empty_facts()
    modules = _section(host, 'kernel module', read_kernel_modules) or {}
    for name in KERNEL_MODULES:
        modules.setdefault(name, {'loaded': False, 'version': None})
    facts['kernel_modules'] = modules
    found = _section(host, 'PCI', read_pci_devices, modules) or ([], [], [])
    facts['gpus'], facts['accelerators'], facts['display_adapters'] = found
    nvidia = _section(host, 'NVIDIA', read_nvidia, modules, facts['gpus'], path_env)
    if nvidia:
        facts['nvidia'] = nvidia
    facts['device_nodes'] = _section(host, 'device node', read_device_nodes) or []
    facts['cuda'] = _section(host, 'CUDA', read_cuda) or facts['cuda']
    facts['rocm'] = _section(host, 'ROCm', read_rocm) or facts['rocm']
    dpkg_text = host.read(DPKG_STATUS, limit=256 * 1024 * 1024)
    facts['packages'] = _section(host, 'dpkg', lambda _h: parse_dpkg_status(dpkg_text)) or {}
    toolkit = _section(host, 'NVIDIA Container Toolkit', read_container_toolkit, facts['packages'], path_env)
    if toolkit:
        facts['container_toolkit'] = toolkit

    # Accelerator nodes that belong to no PCI device (platform devices, e.g. Arm NPUs).
    claimed = set(n for d in facts['gpus'] + facts['accelerators'] for n in d['device_nodes'])
    for node in facts['device_nodes']:
        if node['kind'] == 'accel' and node['path'] not in claimed:
            facts['accelerators'].append({
                'pci_address': None, 'vendor': 'other', 'vendor_id': None, 'device_id': None,
                'subsystem_vendor_id': None, 'subsystem_device_id': None, 'class': None,
                'class_name': 'Accelerator (accel subsystem)', 'driver': node['major_name'],
                'driver_version': None, 'name': None, 'uuid': None, 'device_nodes': [node['path']]})

    amd_gpus = [g for g in facts['gpus'] if g['vendor'] == 'amd']
    facts['amd'] = {
        'kernel_module_loaded': modules['amdgpu']['loaded'],
        'driver_version': modules['amdgpu']['version'],
        'gpu_count': len(amd_gpus),
        'kfd_present': any(n['path'] == '/dev/kfd' for n in facts['device_nodes']),
        'rocm_version': facts['rocm']['version'],
    }
    facts['intel'] = {
        'kernel_modules_loaded': [m for m in INTEL_GPU_MODULES if modules[m]['loaded']],
        'gpu_count': len([g for g in facts['gpus'] if g['vendor'] == 'intel']),
        'npu_present': any(a['driver'] == 'intel_vpu' or (a['vendor'] == 'intel' and a['pci_address'])
                           for a in facts['accelerators']),
        'npu_module_loaded': modules['intel_vpu']['loaded'],
    }

    facts['nvidia']['nvidia_smi_run'] = _nvidia_smi_gate(host, facts['nvidia'], nvidia_smi, run_command)
    if facts['nvidia']['nvidia_smi_run'] == 'ran':
        _run_nvidia_smi(host, facts, nvidia_smi, run_command)
    ctk_path = facts['container_toolkit']['binaries'].get('nvidia-ctk')
    if nvidia_ctk and ctk_path and run_command is not None:
        _run_nvidia_ctk(host, facts['container_toolkit'], ctk_path, run_command)

    facts['present'] = bool(facts['gpus'] or facts['accelerators'])
    facts['summary'] = summarize(facts)
    facts['warnings'] = list(host.warnings)
    return facts


# ---------------------------------------------------------------------------------------------
# The module side, shared by aihost.hardening.gpu_facts and aihost.hardening.host_audit_facts:
# the GPU options, their checks, and run_command bounded by coreutils timeout.

ARGUMENT_SPEC = dict(
    nvidia_smi=dict(type='str', default='query', choices=['query', 'xml', 'never']),
    nvidia_smi_timeout=dict(type='int', default=20),
    nvidia_ctk=dict(type='bool', default=True),
)


def module_runner(module, timeout):
    """run_command for the extra sources: argv list, pinned locale, bounded by coreutils timeout."""
    timeout_bin = module.get_bin_path('timeout')

    def run(argv):
        if timeout_bin:
            argv = [timeout_bin, str(timeout)] + list(argv)
        rc, out, err = module.run_command(argv, check_rc=False, handle_exceptions=False)
        if timeout_bin and rc == 124:
            return rc, out, 'timed out after %s s' % timeout
        return rc, out, err
    return run


def option_errors(params):
    """Messages for bad GPU options in ``params`` (empty when they are fine)."""
    if params['nvidia_smi_timeout'] < 1:
        return ['nvidia_smi_timeout must be at least 1 second, got %s' % params['nvidia_smi_timeout']]
    return []


def collect_for_module(module, host, runner_factory=module_runner):
    """The ``aihost_gpu`` facts of ``host`` with the options in ``module.params``."""
    return collect(
        host,
        run_command=runner_factory(module, module.params['nvidia_smi_timeout']),
        nvidia_smi=module.params['nvidia_smi'],
        nvidia_ctk=module.params['nvidia_ctk'],
        path_env=os.environ.get('PATH', ''),
    )
