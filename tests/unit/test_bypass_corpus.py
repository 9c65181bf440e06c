"""The scanner on issue #19's bypass corpus (tests/unit/bypass_corpus.py): public bypasses and real benign dumps.

A verdict is correct when it is at least as strong as the expectation for a flagged file
(malicious -> "malicious"; suspicious -> "suspicious" or "malicious") and exactly "clean" for a
benign one. Nothing here unpickles a sample: the proof test below resolves globals with a recording
unpickler whose find_class never returns the real callable.
"""
import builtins
import io
import os
import pickle
import subprocess

import pytest

from ansible_collections.aihost.hardening.plugins.module_utils import model_formats
from bypass_corpus import build_bypass_corpus

CORPUS = build_bypass_corpus()


def inspect(data):
    return model_formats.inspect_stream(io.BytesIO(data), len(data))


def correct(verdict, expect):
    if expect == "malicious":
        return verdict == "malicious"
    if expect == "suspicious":
        return verdict in ("suspicious", "malicious")
    return verdict == "clean"


@pytest.mark.parametrize("sample", CORPUS, ids=["%s:%s" % (s.cls, s.name) for s in CORPUS])
def test_verdict_is_correct_for_what_loading_the_file_would_do(sample):
    result = inspect(sample.data)
    assert correct(result["verdict"], sample.expect), (sample.expect, sample.note, sample.source, result["findings"])


def test_every_file_gets_a_verdict_and_none_raises():
    errors = {}
    for sample in CORPUS:
        try:
            verdict = inspect(sample.data)["verdict"]
        except Exception as exc:  # pylint: disable=broad-except  # the test reports every crash at once
            errors[sample.name] = repr(exc)
            continue
        if verdict not in ("clean", "suspicious", "malicious"):
            errors[sample.name] = "verdict %r" % verdict
    assert errors == {}


def test_scanning_the_corpus_never_unpickles_or_runs_anything(monkeypatch):
    def trap(*args, **kwargs):
        raise AssertionError("the scanner called a loader or an executor (args %r)" % (args[:1],))

    class TrapUnpickler(object):
        def __init__(self, *args, **kwargs):
            trap(*args)

    for target, name, replacement in ((pickle, "loads", trap), (pickle, "load", trap), (pickle, "Unpickler", TrapUnpickler),
                                      (os, "system", trap), (subprocess, "Popen", trap), (builtins, "exec", trap),
                                      (builtins, "eval", trap)):
        monkeypatch.setattr(target, name, replacement)
    for sample in CORPUS:
        try:
            inspect(sample.data)
        except AssertionError:
            raise
        except Exception:  # pylint: disable=broad-except  # crashes are the previous test's business
            pass


class _Reached(Exception):
    pass


class _Stub(object):
    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return _Stub()

    def __setstate__(self, state):
        pass


class _RecordingUnpickler(pickle._Unpickler):
    """Stops with _Reached when the stream resolves ``target``; every other global is a harmless stub."""

    target = None

    def find_class(self, module, name):
        if "%s.%s" % (module, name) == self.target:
            raise _Reached(self.target)
        return _Stub

    def persistent_load(self, pid):
        return None


PROVABLE = [s for s in CORPUS if getattr(s, "reaches", None)]


@pytest.mark.parametrize("sample", PROVABLE, ids=[s.name for s in PROVABLE])
def test_expectation_holds_the_unpickler_really_reaches_the_dangerous_global(sample):
    """Proves the label: pickle's own (pure Python) unpickler, reading the stream the loader reads,
    resolves the dangerous global (reading stacked pickles one after the other until EOF)."""
    stream = io.BytesIO(sample.stream)
    with pytest.raises(_Reached):
        while stream.tell() < len(sample.stream):
            unpickler = _RecordingUnpickler(stream)
            unpickler.target = sample.reaches
            unpickler.load()


def test_corpus_shape():
    classes = set(s.cls for s in CORPUS)
    assert classes == {"1-loader-parity", "2-deny-list", "3-text-search", "4-crash", "5-compression", "6-real-benign", "baseline"}
    real = [s for s in CORPUS if s.cls == "6-real-benign"]
    assert len(real) >= 20 and all(s.expect == "clean" for s in real)
    assert all(s.source for s in CORPUS)
