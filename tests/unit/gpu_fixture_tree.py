# -*- coding: utf-8 -*-
"""Build a host tree (/sys, /proc, /dev, /usr, /etc, ...) from a GPU fixture case for the unit tests.

A case is ``tests/unit/fixtures/gpu/<case>/case.yml`` (see the README there). It is a description,
not a copy of the tree, because a git tree cannot hold what a real host has:
- PCI addresses contain ':' and sysfs is made of directory symlinks (ansible-test sanity rejects
  both in a collection), so PCI devices are listed and laid out here the way the kernel does it:
  /sys/devices/pci0000:00/<addr>/{vendor,device,class,...}, /sys/bus/pci/devices/<addr> ->
  ../../../devices/pci0000:00/<addr>, <addr>/driver -> ../../../bus/pci/drivers/<driver>;
- device nodes cannot be character devices in git, so each is an empty placeholder file plus an
  entry in the case's stat manifest, which ``FakeStat`` serves in place of os.stat().
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import yaml

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures', 'gpu')


class NodeStat:
    """The fields of os.stat_result that gpu.py reads for a device node."""

    def __init__(self, spec):
        self.st_mode = stat.S_IFCHR | int(str(spec['mode']), 8)
        self.st_rdev = os.makedev(int(spec['major']), int(spec['minor']))
        self.st_uid = int(spec.get('uid', 0))
        self.st_gid = int(spec.get('gid', 0))


class FakeStat:
    """os.stat() for a fixture tree: manifest entries are character devices, the rest is real."""

    def __init__(self, root, nodes):
        self.root = root
        self.nodes = dict((root + path, NodeStat(spec)) for path, spec in (nodes or {}).items())

    def __call__(self, path):
        if path in self.nodes:
            return self.nodes[path]
        return os.stat(path)


class FakeRunner:
    """run_command(argv) stand-in answering from the case's canned command output."""

    def __init__(self, case_dir, commands):
        self.case_dir = case_dir
        self.commands = commands or {}
        self.calls = []

    def __call__(self, argv):
        key = ' '.join([os.path.basename(argv[0])] + list(argv[1:]))
        self.calls.append(key)
        spec = self.commands.get(key)
        if spec is None:
            return 127, '', '%s: not in the fixture' % key
        stdout = spec.get('stdout', '')
        if 'stdout_from' in spec:
            with open(os.path.join(self.case_dir, spec['stdout_from'])) as handle:
                stdout = handle.read()
        return spec.get('rc', 0), stdout, spec.get('stderr', '')


def load_case(name):
    case_dir = os.path.join(FIXTURES, name)
    with open(os.path.join(case_dir, 'case.yml')) as handle:
        case = yaml.safe_load(handle)
    case['_dir'] = case_dir
    return case


def _write(root, path, content, mode=0o644):
    full = root + path
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, 'w') as handle:
        handle.write(content)
    os.chmod(full, mode)


def _symlink(root, path, target):
    full = root + path
    os.makedirs(os.path.dirname(full), exist_ok=True)
    os.symlink(target, full)


def _pci_device(root, dev, modules):
    address = dev['address']
    real = '/sys/devices/pci0000:00/' + address
    for attr in ('vendor', 'device', 'class', 'subsystem_vendor', 'subsystem_device'):
        if attr in dev:
            _write(root, '%s/%s' % (real, attr), '%s\n' % dev[attr])
    _symlink(root, '/sys/bus/pci/devices/' + address, '../../../devices/pci0000:00/' + address)
    driver = dev.get('driver')
    if driver:
        driver_dir = '/sys/bus/pci/drivers/' + driver
        if not os.path.isdir(root + driver_dir):
            _write(root, driver_dir + '/bind', '', 0o200)
            module = dev.get('module', driver)
            if module in modules:
                _symlink(root, driver_dir + '/module', '../../../../module/' + module)
        _symlink(root, real + '/driver', '../../../bus/pci/drivers/' + driver)
    for sub in ('drm', 'accel'):
        for node in dev.get(sub, []):
            os.makedirs('%s%s/%s/%s' % (root, real, sub, node))


def build_tree(case, root):
    """Lay the case out under ``root``; return a ready gpu.HostTree-compatible kwargs dict."""
    root = str(root)
    modules = case.get('modules') or []
    for module in modules:
        os.makedirs(root + '/sys/module/' + module, exist_ok=True)
    os.makedirs(root + '/sys/bus/pci/devices', exist_ok=True)
    for dev in case.get('pci_devices') or []:
        _pci_device(root, dev, modules)
    for path, content in (case.get('files') or {}).items():
        if isinstance(content, dict) and content.get('dir'):
            os.makedirs(root + path, exist_ok=True)
        elif isinstance(content, dict) and 'from' in content:
            with open(os.path.join(case['_dir'], content['from'])) as handle:
                _write(root, path, handle.read())
        else:
            _write(root, path, content)
    for path in case.get('executables') or []:
        _write(root, path, '#!/bin/sh\n# fixture placeholder, never executed\nexit 99\n', 0o755)
    for path, target in (case.get('symlinks') or {}).items():
        _symlink(root, path, target)
    for path in (case.get('device_nodes') or {}):
        _write(root, path, '', 0o600)
    users = dict((int(k), v) for k, v in (case.get('users') or {0: 'root'}).items())
    groups = dict((int(k), v) for k, v in (case.get('groups') or {0: 'root'}).items())
    return {
        'root': root,
        'stat': FakeStat(root, case.get('device_nodes')),
        'user_name': users.get,
        'group_name': groups.get,
    }


def runner_for(case):
    return FakeRunner(case['_dir'], case.get('commands'))
