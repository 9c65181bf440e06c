# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall role's reading of firewalld (``firewalld_escaping_interfaces``). Controller side;
documentation in ``firewalld_escaping_interfaces.yml``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def _is_container_interface(interface, patterns):
    """A name that a pattern names exactly, or that starts with a pattern's text before its final '*'."""
    return any(interface.startswith(pattern[:-1]) if pattern.endswith("*") else interface == pattern
               for pattern in patterns or [])


def firewalld_escaping_interfaces(lines, zone, container_patterns=None, declared=None):
    """Interfaces that `firewall-cmd --get-active-zones` binds to a zone other than ZONE, as
    "<interface> (zone <name>)", leaving out container bridges and the interfaces the role binds itself.

    The output is a zone name on a line of its own ("public" or "public (default)") followed by indented
    "interfaces: a b" and "sources: ..." lines.
    """
    escaping, current = [], ""
    for line in lines or []:
        if line.strip() and not line.startswith(" "):
            current = line.split()[0]
        elif line.strip().startswith("interfaces:"):
            for interface in line.split(":", 1)[1].split():
                if (current != zone and not _is_container_interface(interface, container_patterns)
                        and interface not in (declared or [])):
                    escaping.append("%s (zone %s)" % (interface, current))
    return escaping


class FilterModule(object):
    """aihost.hardening filters for firewalld."""

    def filters(self):
        return {"firewalld_escaping_interfaces": firewalld_escaping_interfaces}
