#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""List the installed packages the way ansible.builtin.package_facts does, without python3-apt or
the rpm bindings, and say which of the packages a role needs are missing. Read-only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: installed_packages
short_description: List the installed packages without the package managers' Python bindings (read-only)
description:
  - Sets C(ansible_facts.packages) in the shape M(ansible.builtin.package_facts) gives it, so
    expressions such as C('nginx' in ansible_facts.packages) and
    C(ansible_facts.packages['nvidia-driver'][0].version) work unchanged.
  - Unlike M(ansible.builtin.package_facts), it needs no Python library on the host. A minimal Debian
    host has no C(python3-apt), so C(package_facts) fails there, before the role that called it
    could install anything. This module reads the dpkg database, C(/var/lib/dpkg/status), as text
    (Debian, Ubuntu), or runs C(rpm -qa --queryformat ...) under the C locale (RHEL and its rebuilds,
    Fedora, SUSE).
  - With O(required), it also returns the packages of that list that are not installed, so a role can
    install exactly those, or in check mode say which it would install, before any other change.
  - Never reports a change, in or out of check mode.
version_added: "0.3.0"
author:
  - aihost.hardening maintainers (@aihost)
options:
  manager:
    description:
      - Where to read the packages from.
      - V(auto) reads the dpkg database when C(/var/lib/dpkg/status) exists and is not empty, else
        C(rpm) when the C(rpm) command exists, and fails when neither does.
    type: str
    choices: [auto, dpkg, rpm]
    default: auto
  required:
    description:
      - Package names a caller needs. Those that are not installed are returned in RV(missing), in
        the order given, each once.
      - Names are compared with the keys of C(ansible_facts.packages); a package of a foreign
        architecture is C(name:arch) there, as with M(ansible.builtin.package_facts) on Debian.
    type: list
    elements: str
    default: []
  installer_dependencies:
    description:
      - When some of O(required) is missing, also list in RV(missing) what the module that installs
        them needs on the host and lacks. On dpkg hosts that is C(python3-apt), which
        M(ansible.builtin.apt) imports. That module installs it by itself in a normal run, but fails in
        check mode without it, so a role can say in check mode everything a run would install.
      - Nothing on rpm hosts (M(ansible.builtin.dnf) uses the dnf bindings that come with dnf).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: The module only reads; check mode returns what a normal run returns.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to diff.
  facts:
    support: full
    description: Sets C(ansible_facts.packages).
  platform:
    support: full
    platforms: [linux]
    description: Debian-family hosts (the dpkg database) and RPM-based hosts (the C(rpm) command).
notes:
  - dpkg counts a package as installed when its state is C(installed), C(triggers-awaiting) or
    C(triggers-pending); C(half-installed), C(unpacked), C(half-configured) and C(config-files) are not.
  - The Debian entries have no C(origin) (it comes from APT's lists, not from dpkg), and their
    C(source) is V(dpkg) where M(ansible.builtin.package_facts) says V(apt).
seealso:
  - module: ansible.builtin.package_facts
"""

EXAMPLES = r"""
- name: Read the installed packages and the ones the role still needs
  aihost.hardening.installed_packages:
    required: [nftables]
    installer_dependencies: true
  register: packages_read

- name: Say in check mode what a run would install (python3-apt included where it is missing)
  ansible.builtin.debug:
    msg: "would install {{ packages_read.missing | join(', ') }}"
  changed_when: true
  when: packages_read.missing | length > 0 and ansible_check_mode

- name: Install what is missing
  ansible.builtin.apt:
    name: "{{ packages_read.missing }}"
    update_cache: true
  when: packages_read.missing | length > 0 and not ansible_check_mode

- name: Check the version of an installed package
  ansible.builtin.debug:
    msg: "{{ ansible_facts.packages['nftables'][0].version }}"
  when: "'nftables' in ansible_facts.packages"
"""

RETURN = r"""
ansible_facts:
  description: Facts added to C(ansible_facts).
  returned: always
  type: complex
  contains:
    packages:
      description:
        - Maps the package name to a non-empty list of dicts, one per installed instance (several
          kernels on an RPM host, for example).
        - On Debian a package of a foreign architecture is listed as C(name:arch); native and
          C(all) packages under their plain name.
      returned: always
      type: dict
      contains:
        name:
          description: The package's name (C(name:arch) for a foreign architecture on Debian).
          returned: always
          type: str
        version:
          description:
            - dpkg, the whole version with its epoch and Debian revision (C(1:2.3-4)).
            - rpm, the VERSION tag only; the release and the epoch are separate fields.
          returned: always
          type: str
        arch:
          description: The architecture (C(amd64), C(all), C(x86_64), C(noarch)); null where the package has none.
          returned: always
          type: str
        category:
          description: The Debian section (C(admin), C(net)); null where the database has none.
          returned: with the dpkg manager
          type: str
        release:
          description: The RPM release (C(514.26.2.el7)).
          returned: with the rpm manager
          type: str
        epoch:
          description: The RPM epoch as text, null where the package has none.
          returned: with the rpm manager
          type: str
        source:
          description: Where the entry was read, V(dpkg) or V(rpm).
          returned: always
          type: str
      sample:
        nftables:
          - {name: nftables, version: 1.0.6-2+deb12u2, arch: amd64, category: net, source: dpkg}
        "libc6:i386":
          - {name: "libc6:i386", version: 2.36-9+deb12u14, arch: i386, category: libs, source: dpkg}
manager:
  description: The package database that was read, V(dpkg) or V(rpm).
  returned: always
  type: str
  sample: dpkg
missing:
  description:
    - The names of O(required) that are not installed, in the order given; then, with
      O(installer_dependencies), those the installing module needs and the host lacks.
  returned: always
  type: list
  elements: str
  sample: [nginx, python3-cryptography]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aihost.hardening.plugins.module_utils.packages import (
    PackageReadError, packages_to_install, read_packages)

# Tests point this at a fixture tree.
HOST_ROOT = "/"


def argument_spec():
    return dict(
        manager=dict(type="str", default="auto", choices=["auto", "dpkg", "rpm"]),
        required=dict(type="list", elements="str", default=[]),
        installer_dependencies=dict(type="bool", default=False),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        manager, packages = read_packages(module, module.params["manager"], HOST_ROOT)
    except PackageReadError as exc:
        module.fail_json(msg=str(exc))
    missing = packages_to_install(packages, module.params["required"], manager, module.params["installer_dependencies"])
    module.exit_json(changed=False, manager=manager, missing=missing, ansible_facts=dict(packages=packages))


if __name__ == "__main__":
    main()
