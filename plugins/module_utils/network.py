# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ports and networks as the roles' variables give them: one parser each, for the filters on the
controller (allowed exposures, proxies) and the modules on the targets (egress plan)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible.module_utils.six import integer_types, string_types
from ansible.module_utils.common.text.converters import to_text


def port_value(value):
    """Return the port as an int, or None when VALUE is not an integer 1-65535.

    Digit strings are accepted because values passed with ``-e`` arrive as text."""
    if isinstance(value, bool):
        return None
    if isinstance(value, integer_types):
        number = value
    elif isinstance(value, string_types) and value.strip().isdigit():
        number = int(value.strip())
    else:
        return None
    return number if 1 <= number <= 65535 else None


def parse_network(value):
    """Parse one CIDR (or plain address). Return (network, error_text)."""
    if not isinstance(value, string_types) or not value.strip():
        return None, "%r is not a CIDR string" % (value,)
    text = value.strip()
    try:
        return ipaddress.ip_network(to_text(text), strict=True), None
    except ValueError:
        pass
    try:
        loose = ipaddress.ip_network(to_text(text), strict=False)
    except ValueError:
        return None, "%r is not a valid IPv4/IPv6 address or CIDR" % (text,)
    return None, "%r has host bits set (did you mean %s?)" % (text, loose.with_prefixlen)
