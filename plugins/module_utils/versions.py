# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One version comparator for what AI hosts report: PEP 440 (pip), SemVer tags and Debian packages.

``compare(left, right)`` returns -1, 0 or 1. The rules, in order:

- a leading ``v`` is dropped; an epoch (``2:`` Debian, ``2!`` PEP 440) compares first;
- build metadata and local labels after ``+`` are ignored (SemVer precedence; PEP 440 specifiers
  ignore them too): ``0.4.22+1`` equals ``0.4.22``;
- the leading numeric release compares as numbers, padded with zeros: ``1.2`` equals ``1.2.0``;
- then what follows, token by token: ``~`` (Debian) sorts below everything, even the end;
  pre-releases (``dev`` < ``a``/``alpha`` < ``b``/``beta`` < ``c``/``rc``/``pre``/``preview``) sort
  below the release, whether written ``0.5.0rc1``, ``0.5.0-rc.1`` or ``0.5.0.dev1``; the end of the
  string comes next; other words (``deb``, ``ubuntu``) next; numbers next (a Debian revision
  ``1.2.3-1~deb12u1`` is above ``1.2.3``); post-releases (``post``, ``rev``, ``r``) highest, so
  ``0.8.5.post1`` is above ``0.8.5`` (a patched release is not reported as vulnerable).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

_TOKEN = re.compile(r"\d+|[a-z]+|~")
_PRE_RANK = {"dev": 0, "a": 1, "alpha": 1, "b": 2, "beta": 2, "c": 3, "rc": 3, "pre": 3, "preview": 3}
_POST = frozenset(["post", "rev", "r"])
_TILDE, _PRE, _END, _WORD, _NUMBER, _POSTREL = range(6)


def version_key(text):
    """(epoch, release numbers, tokens) for ``compare``; the release is not padded here."""
    text = str(text if text is not None else "").strip().lower()
    if text.startswith("v") and text[1:2].isdigit():
        text = text[1:]
    text = text.split("+", 1)[0]
    epoch = 0
    match = re.match(r"^(\d+)[:!](.*)$", text)
    if match:
        epoch, text = int(match.group(1)), match.group(2)
    release = []
    tokens = []
    for token in _TOKEN.findall(text):
        if token.isdigit() and not tokens:
            release.append(int(token))
        elif token.isdigit():
            tokens.append((_NUMBER, int(token), ""))
        elif token == "~":
            tokens.append((_TILDE, 0, ""))
        elif token in _PRE_RANK:
            tokens.append((_PRE, _PRE_RANK[token], ""))
        elif token in _POST:
            tokens.append((_POSTREL, 0, ""))
        else:
            tokens.append((_WORD, 0, token))
    return epoch, release, tokens


def compare(left, right):
    """-1, 0 or 1 like cmp(left, right), for any two version strings (None and '' sort lowest)."""
    epoch_a, release_a, rest_a = version_key(left)
    epoch_b, release_b, rest_b = version_key(right)
    if epoch_a != epoch_b:
        return -1 if epoch_a < epoch_b else 1
    empty_a, empty_b = not (release_a or rest_a), not (release_b or rest_b)
    if empty_a or empty_b:  # no version at all sorts below every version
        return (not empty_a) - (not empty_b)
    width = max(len(release_a), len(release_b))
    release_a = release_a + [0] * (width - len(release_a))
    release_b = release_b + [0] * (width - len(release_b))
    if release_a != release_b:
        return -1 if release_a < release_b else 1
    end = (_END, 0, "")
    width = max(len(rest_a), len(rest_b))
    rest_a = rest_a + [end] * (width - len(rest_a))
    rest_b = rest_b + [end] * (width - len(rest_b))
    return (rest_a > rest_b) - (rest_a < rest_b)
