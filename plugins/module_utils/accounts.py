# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Account files, one parser each: ``/etc/passwd``, ``/etc/group`` and the UID/GID ranges of
``/etc/login.defs`` (with shadow-utils' defaults for missing keys).

Used where NSS cannot answer: a container's own files (runtime detection reads them through the
container's root) and fixture trees in tests. On the host itself, account lookups go through NSS
(``pwd``/``grp``), so directory-service accounts count too.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def parse_passwd(text):
    """``/etc/passwd`` text -> {name: {name, uid, gid, home, shell}}, in file order. NIS markers
    (``+``/``-`` lines), comments and malformed lines are skipped."""
    users = {}
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) < 7 or not fields[0] or fields[0].startswith(("+", "-", "#")):
            continue
        try:
            uid, gid = int(fields[2]), int(fields[3])
        except ValueError:
            continue
        users[fields[0]] = {"name": fields[0], "uid": uid, "gid": gid, "home": fields[5], "shell": fields[6]}
    return users


def parse_group(text):
    """``/etc/group`` text -> {name: {name, gid, members}}."""
    groups = {}
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) < 4 or not fields[0]:
            continue
        try:
            gid = int(fields[2])
        except ValueError:
            continue
        members = [m for m in fields[3].split(",") if m]
        groups[fields[0]] = {"name": fields[0], "gid": gid, "members": members}
    return groups


def parse_login_defs(text):
    """UID/GID ranges from login.defs, with shadow-utils' built-in defaults for missing keys."""
    values = {"UID_MIN": 1000, "UID_MAX": 60000, "GID_MIN": 1000, "GID_MAX": 60000}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("UID_MIN", "UID_MAX", "GID_MIN", "GID_MAX", "SYS_UID_MIN",
                                            "SYS_UID_MAX", "SYS_GID_MIN", "SYS_GID_MAX"):
            try:
                values[parts[0]] = int(parts[1], 0)
            except ValueError:
                pass
    # shadow-utils: SYS_UID_MIN defaults to 101, SYS_UID_MAX to UID_MIN - 1 (same for GID).
    values.setdefault("SYS_UID_MIN", 101)
    values.setdefault("SYS_UID_MAX", values["UID_MIN"] - 1)
    values.setdefault("SYS_GID_MIN", 101)
    values.setdefault("SYS_GID_MAX", values["GID_MIN"] - 1)
    return values
