# -*- coding: utf-8 -*-
# Copyright: aihost.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Static analysis of pickle streams: the imports they make and the calls they set up.

Nothing here unpickles anything. The stream is read opcode by opcode with the standard library's
opcode tables (``pickletools.opcodes``, the same tables ``pickletools.genops`` walks), and a small
symbolic stack machine follows what the real unpickler would build, with stand-in values:

- constants (str, bytes, int, float, bool, None) are kept when small, so ``STACK_GLOBAL``,
  whose module and name come from the stack (often through the memo: ``BINPUT``/``BINGET``/
  ``MEMOIZE``), resolves to the real import, and an import whose operands are not constants is
  itself reported (the unpickler would import a name computed at load time);
- ``GLOBAL``/``INST``/``STACK_GLOBAL`` give ``Global`` values; ``REDUCE``/``NEWOBJ``/``OBJ``/``INST``
  give ``Instance`` values that remember what was called with which arguments (the "call context"
  of a finding: ``os.system`` called with ``('id',)``);
- the memo and the mark stack behave as in ``pickle._Unpickler``.

Why not ``pickletools.genops`` itself: it reads every argument into memory (a 2 GiB ``BINBYTES8``
tensor blob would be read whole) and ``readline`` has no length cap, so a text file of 10 GiB
without a newline would be read whole too. The loop below reads arguments with the same
descriptors but skips large blobs with ``seek`` and caps line arguments.

Each imported global gets a severity from ``classify_global``: an allowlist of what checkpoints
need (tensor and array rebuild functions, storages, ``collections.OrderedDict``...) is silent;
``critical`` covers what runs commands, code, files or network (``os``, ``subprocess``,
``builtins.eval``, ``socket``...); ``high`` is any other module not on the allowlist (the loader
imports and calls it: we cannot tell what it does); ``medium``/``low`` are functions/classes of
well-known ML libraries that are not on the allowlist (library code, chosen arguments).

Truncated or malformed streams never raise: the result carries ``malformed`` with the reason and
the imports seen up to that point.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import pickletools
import re
import struct

try:  # the unpickler maps Python 2 names (__builtin__, copy_reg...) through these tables
    import _compat_pickle
    _IMPORT_MAPPING = dict(_compat_pickle.IMPORT_MAPPING)
    _NAME_MAPPING = dict(_compat_pickle.NAME_MAPPING)
except ImportError:  # pragma: no cover
    _IMPORT_MAPPING = {"__builtin__": "builtins", "copy_reg": "copyreg", "cPickle": "pickle"}
    _NAME_MAPPING = {}

SEVERITIES = ("info", "low", "medium", "high", "critical")
SEVERITY_RANK = dict((name, rank) for rank, name in enumerate(SEVERITIES))

# Magic number of the legacy (pre-zip) torch.save format: the first pickle of the file.
TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

# ---------------------------------------------------------------------------------------------
# Policy
# ---------------------------------------------------------------------------------------------
_TORCH_STORAGES = ("Double", "Float", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte",
                   "Bool", "ComplexDouble", "ComplexFloat", "QUInt8", "QInt8", "QInt32",
                   "QUInt4x2", "QUInt2x4")
_TORCH_DTYPES = ("float32", "float", "float64", "double", "float16", "half", "bfloat16", "complex32",
                 "complex64", "complex128", "cfloat", "cdouble", "chalf", "uint8", "uint16", "uint32",
                 "uint64", "int8", "int16", "short", "int32", "int", "int64", "long", "bool", "qint8",
                 "quint8", "qint32", "quint4x2", "quint2x4", "float8_e4m3fn", "float8_e5m2",
                 "float8_e4m3fnuz", "float8_e5m2fnuz", "strided", "sparse_coo", "sparse_csr",
                 "sparse_csc", "sparse_bsr", "sparse_bsc", "_mkldnn", "contiguous_format",
                 "channels_last", "channels_last_3d", "preserve_format")

_NUMPY_SCALARS = ("bool_", "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "intc", "uintc",
                  "longlong", "ulonglong", "float16", "float32", "float64", "float128", "longdouble", "complex64",
                  "complex128", "complex256", "clongdouble", "str_", "bytes_", "void", "datetime64", "timedelta64",
                  "object_", "half", "single", "double", "byte", "ubyte", "short", "ushort", "intp", "uintp")

SAFE_GLOBALS = frozenset(
    ["collections.OrderedDict", "collections.defaultdict", "collections.Counter", "collections.deque",
     "copyreg._reconstructor", "_codecs.encode",
     "builtins.set", "builtins.frozenset", "builtins.bytearray", "builtins.bytes", "builtins.complex",
     "builtins.slice", "builtins.range", "builtins.int", "builtins.float", "builtins.str",
     "builtins.list", "builtins.dict", "builtins.tuple", "builtins.bool", "builtins.object",
     "builtins.Ellipsis", "builtins.NotImplemented",
     "datetime.datetime", "datetime.date", "datetime.time", "datetime.timedelta", "datetime.timezone",
     "decimal.Decimal", "fractions.Fraction", "uuid.UUID",
     "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3",
     "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
     "torch._utils._rebuild_qtensor", "torch._utils._rebuild_sparse_tensor",
     "torch._utils._rebuild_sparse_csr_tensor", "torch._utils._rebuild_meta_tensor_no_storage",
     "torch._utils._rebuild_wrapper_subclass", "torch._utils._rebuild_device_tensor_from_numpy",
     "torch._utils._rebuild_nested_tensor", "torch._tensor._rebuild_from_type_v2",
     "torch.serialization._get_layout", "torch.Size", "torch.device", "torch.Tensor",
     "torch.nn.parameter.Parameter", "torch.storage.TypedStorage", "torch.storage.UntypedStorage",
     "torch.storage._TypedStorage", "torch.UntypedStorage", "torch.TypedStorage",
     "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
     "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
     "numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer",
     "numpy.ndarray", "numpy.dtype", "numpy.ma.core._mareconstruct",
     "joblib.numpy_pickle.NumpyArrayWrapper", "joblib.numpy_pickle.NDArrayWrapper"]
    + ["torch.%sStorage" % kind for kind in _TORCH_STORAGES]
    + ["torch.cuda.%sStorage" % kind for kind in _TORCH_STORAGES]
    + ["torch.%s" % name for name in _TORCH_DTYPES]
    # numpy's scalar types, referenced as dtypes (TfidfVectorizer(dtype=numpy.float64)).
    + ["numpy.%s" % name for name in _NUMPY_SCALARS]
    # pandas' data containers; their reconstruction restores blocks and indexes.
    + ["pandas.%s" % name for name in ("DataFrame", "Series", "Index", "RangeIndex", "MultiIndex", "CategoricalIndex",
                                       "DatetimeIndex", "TimedeltaIndex", "PeriodIndex", "IntervalIndex", "Timestamp",
                                       "Timedelta", "Period", "Interval", "Categorical", "CategoricalDtype",
                                       "StringDtype", "DatetimeTZDtype", "PeriodDtype", "IntervalDtype",
                                       "SparseDtype", "BooleanDtype", "Int8Dtype", "Int16Dtype", "Int32Dtype",
                                       "Int64Dtype", "UInt8Dtype", "UInt16Dtype", "UInt32Dtype", "UInt64Dtype",
                                       "Float32Dtype", "Float64Dtype", "ArrowDtype")])

# Roots whose import alone means commands, code, files or network at load time.
CRITICAL_MODULE_ROOTS = frozenset([
    "os", "posix", "nt", "subprocess", "_posixsubprocess", "sys", "socket", "_socket", "shutil", "runpy",
    "pty", "importlib", "imp", "pickle", "_pickle", "marshal", "webbrowser", "code", "codeop", "ctypes",
    "_ctypes", "cffi", "_cffi_backend", "multiprocessing", "_multiprocessing", "asyncio", "pdb", "bdb",
    "timeit", "trace", "cProfile", "profile", "doctest", "idlelib", "pip", "setuptools", "distutils", "venv",
    "ensurepip", "zipimport", "zipapp", "pkgutil", "urllib", "urllib2", "urllib3", "http", "httplib",
    "requests", "aiohttp", "httpx", "ftplib", "smtplib", "telnetlib", "poplib", "imaplib", "nntplib",
    "socketserver", "xmlrpc", "ssl", "signal", "types", "dill", "cloudpickle", "commands", "popen2", "site",
    "_thread", "thread", "threading", "pydoc", "platform", "tempfile", "shelve", "dbm", "sqlite3", "mmap",
    "fileinput", "glob", "pathlib", "zipfile", "tarfile", "gzip", "bz2", "lzma", "compileall", "py_compile",
    "fcntl", "_winapi", "winreg", "msvcrt", "atexit", "sched", "selectors", "select", "numexpr", "jinja2",
    "_posixshmem", "resource", "pwd", "grp", "spwd", "crypt", "getpass", "_osx_support", "_aix_support", "lib2to3",
    "yaml", "_yaml", "ruamel", "mailcap", "cgi", "cgitb", "smtpd", "turtle", "tkinter", "_tkinter", "gettext",
    "ptyprocess", "pexpect", "paramiko", "fabric", "invoke", "sh", "plumbum", "psutil", "docker", "boto3", "botocore",
    "s3fs", "fsspec", "gcsfs",
])
# Whole names that run code, touch files or the network although their module is otherwise harmless.
CRITICAL_NAMES = frozenset([
    "operator.attrgetter", "operator.methodcaller", "_operator.attrgetter", "_operator.methodcaller",
    "torch.load", "torch.serialization.load", "torch.save", "torch.serialization.save", "torch.from_file",
    "torch.storage._load_from_bytes", "numpy.load", "numpy.lib.npyio.load", "numpy.save", "numpy.savez",
    "numpy.savez_compressed", "numpy.savetxt", "numpy.loadtxt", "numpy.genfromtxt", "numpy.fromfile",
    "numpy.memmap", "numpy.core.memmap.memmap", "numpy._core.memmap.memmap", "numpy.lib.format.open_memmap",
    "numpy.loads", "numpy.testing._private.utils.runstring", "numpy.f2py.compile",
    "pandas.read_pickle", "pandas.eval", "joblib.load", "joblib.dump", "joblib.numpy_pickle.load",
    "joblib.numpy_pickle.dump", "keras.models.load_model", "tensorflow.keras.models.load_model", "keras.saving.load_model",
    "keras.src.saving.saving_api.load_model", "keras.src.legacy.saving.legacy_h5_format.load_model_from_hdf5",
    "io.open", "io.open_code", "io.FileIO", "_io.open", "_io.open_code", "_io.FileIO", "codecs.open", "codecs.EncodedFile",
    "copyreg.add_extension", "copyreg._reconstructor_ext", "scipy.io.FortranFile", "scipy.io._fortran.FortranFile",
    "scipy.io.savemat", "scipy.io.loadmat", "scipy.io.mmwrite", "scipy.io.mmread", "scipy.io.wavfile.write",
    "scipy.io.wavfile.read", "scipy.io.netcdf_file", "scipy.sparse.save_npz", "scipy.sparse.load_npz",
    "logging.FileHandler", "logging.basicConfig", "uuid._get_command_stdout", "uuid._popen",
    "sympy.sympify", "sympy.parse_expr", "xml.etree.ElementTree.parse", "xml.etree.ElementTree.iterparse",
    "xml.etree.ElementTree.ElementTree", "xml.dom.minidom.parse", "xml.sax.parse", "xml.etree.ElementInclude.include",
    "pkgutil.resolve_name", "operator.call", "_operator.call",
])
CRITICAL_PREFIXES = ("torch.hub.", "torch.jit.", "torch.package.", "torch.utils.cpp_extension.", "torch.distributed.",
                     "torch.fx.", "torch.multiprocessing.", "torch._dynamo.", "torch._inductor.", "torch.ops.",
                     "torch._ops.", "torch.classes.", "torch._C._jit", "torch.compiler.", "torch.export.",
                     "torch.testing.", "torch.utils.data.datapipes.", "torch.library.",
                     "numpy.testing.", "numpy.f2py.", "numpy.distutils.", "numpy.lib.npyio.", "numpy.ctypeslib.",
                     "pandas.read_", "pandas.io.", "pandas.compat.pickle_compat.", "pandas.core.computation.",
                     "pandas.util._", "scipy.io.", "scipy.weave.", "sympy.parsing.", "logging.config.",
                     "logging.handlers.", "transformers.dynamic_module_utils.", "transformers.utils.hub.",
                     "huggingface_hub.", "keras.utils.get_file", "keras.src.utils.file_utils.", "tensorflow.io.",
                     "tensorflow.keras.utils.get_file", "tensorflow.python.ops.script_ops.", "sklearn.datasets.",
                     "sklearn.utils._testing.", "joblib.parallel.", "joblib._parallel_backends.", "joblib.memory.")
CRITICAL_BUILTINS = frozenset([
    "eval", "exec", "execfile", "compile", "__import__", "getattr", "setattr", "delattr", "open",
    "file", "input", "raw_input", "breakpoint", "globals", "locals", "vars", "apply", "reload",
    "exit", "quit", "help", "memoryview", "type", "super", "__loader__", "__build_class__", "print",
])
# Words that, anywhere on an attribute path (protocol 4 "a.b.c" names), reach something dangerous.
_CRITICAL_ATTRIBUTES = frozenset(["system", "popen", "spawn", "spawnl", "spawnv", "spawnve", "spawnlp", "posix_spawn",
                                  "posix_spawnp", "exec", "execv", "execve", "execl", "execvp", "eval", "fork_exec",
                                  "check_output", "check_call", "call", "run", "getoutput", "getstatusoutput",
                                  "load", "loads", "open", "remove", "unlink", "rmtree", "rmdir", "startfile",
                                  "kill", "putenv", "chmod", "chown", "rename", "replace", "write_text",
                                  "write_bytes", "create_connection", "connect", "import_module",
                                  "__import__", "__globals__", "__builtins__", "__subclasses__", "__code__",
                                  "__reduce__", "__reduce_ex__", "__getattribute__", "__dict__"])
# Libraries whose classes routinely appear in whole-object pickles (training args, estimators).
KNOWN_LIBRARY_ROOTS = frozenset([
    "torch", "numpy", "scipy", "sklearn", "pandas", "transformers", "tokenizers", "diffusers",
    "accelerate", "peft", "timm", "torchvision", "torchaudio", "sentence_transformers", "xgboost",
    "lightgbm", "catboost", "tensorflow", "keras", "tf_keras", "safetensors", "huggingface_hub",
    "collections", "enum", "re", "functools", "typing", "dataclasses", "argparse", "copyreg",
    "_codecs", "codecs", "datetime", "decimal", "fractions", "uuid", "joblib", "numbers", "string",
])
# What genuine estimator pickles import beyond SAFE_GLOBALS (scikit-learn, numpy's random state,
# scipy sparse matrices): classes whose reconstruction only restores attributes. Each entry is a
# module prefix; only CamelCase names (classes) in it are allowed, and never a name reached
# through an attribute path.
ESTIMATOR_CLASS_MODULES = ("sklearn.", "scipy.sparse.", "numpy.random.", "numpy.dtypes", "numpy.core.multiarray",
                           "numpy._core.multiarray", "numpy.ma.core", "numpy.core.records", "numpy._core.records",
                           "pandas.core.", "pandas._libs.", "pandas.arrays", "xgboost.core", "xgboost.sklearn", "lightgbm.basic",
                           "lightgbm.sklearn")
# Functions numpy uses to rebuild its own random generators and scalars.
SAFE_FUNCTIONS = frozenset([
    "numpy.random._pickle.__randomstate_ctor", "numpy.random._pickle.__bit_generator_ctor",
    "numpy.random._pickle.__generator_ctor", "numpy.random._pickle.__legacy_seeding",
    "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
    "numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer",
    "pandas._libs.internals._unpickle_block", "pandas.core.internals.blocks.new_block",
    "pandas._libs.arrays.__pyx_unpickle_NDArrayBacked", "pandas.core.indexes.base._new_Index",
    "sklearn.tree._tree.__pyx_unpickle_Tree", "copyreg.__newobj__", "copyreg.__newobj_ex__",
])
# Calls that load another pickle from bytes given in the stream: scanned recursively.
NESTED_LOADERS = frozenset(["pickle.loads", "_pickle.loads", "dill.loads", "cloudpickle.loads", "numpy.loads",
                            "torch.storage._load_from_bytes", "pickle._loads", "pandas.compat.pickle_compat.loads",
                            "dill._dill.loads", "joblib.numpy_pickle.loads"])

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def normalize_global(module, name):
    """Map Python 2 names like the unpickler does for protocols < 3 (fix_imports)."""
    if (module, name) in _NAME_MAPPING:
        module, name = _NAME_MAPPING[(module, name)]
    elif module in _IMPORT_MAPPING:
        module = _IMPORT_MAPPING[module]
    return module, name


def _match_allow(full, allow):
    for pattern in allow or ():
        if pattern == full:
            return True
        if pattern.endswith(".*") and full.startswith(pattern[:-1]):
            return True
    return False


def _critical_reason(module, name):
    full = "%s.%s" % (module, name)
    root = module.split(".", 1)[0]
    if root in CRITICAL_MODULE_ROOTS or root.lstrip("_") in CRITICAL_MODULE_ROOTS:
        return "imports %s: module %s runs commands, code, files or network" % (full, root)
    if full in CRITICAL_NAMES or full.startswith(CRITICAL_PREFIXES):
        return "imports %s: it runs or loads code, or reads, writes or connects" % full
    head = name.split(".", 1)[0]
    if module == "builtins" and (head in CRITICAL_BUILTINS or name.split(".")[-1] in CRITICAL_BUILTINS):
        return "imports builtins.%s: it runs code or reaches arbitrary attributes" % name
    if "." in name:
        # An attribute path walks from an innocent module into another one (argparse._os.system).
        for part in name.split("."):
            if part in _CRITICAL_ATTRIBUTES or part.lstrip("_") in CRITICAL_MODULE_ROOTS \
                    or part in CRITICAL_BUILTINS:
                return "imports %s: attribute path reaches %s" % (full, part)
        inner = "%s.%s" % (module, name.rsplit(".", 1)[0])
        if inner in CRITICAL_NAMES or inner.startswith(CRITICAL_PREFIXES):
            return "imports %s: attribute path through %s" % (full, inner)
    return None


def _is_allowed_estimator_class(module, name):
    if "." in name or not name[:1].isupper() or not _IDENT.match(name):
        return False
    for prefix in ESTIMATOR_CLASS_MODULES:
        if prefix.endswith("."):
            if module == prefix[:-1] or module.startswith(prefix):
                return True
        elif module == prefix:
            return True
    return False


def classify_global(module, name, allow=None):
    """Return ``(severity, reason)`` for an import, or ``None`` when it is on the allowlist.

    An allow-list, not a deny-list: what genuine checkpoints and estimators import is silent;
    known command, code, file and network primitives are ``critical``; every other name is at
    least ``medium`` (the loader imports and calls it; we cannot tell what it does).
    ``allow``: extra allowlisted "module.name" or "module.*" patterns; they never silence a
    critical import.
    """
    full = "%s.%s" % (module, name)
    root = module.split(".", 1)[0]
    critical = _critical_reason(module, name)
    if critical:
        return "critical", critical
    if "." not in name and (full in SAFE_GLOBALS or full in SAFE_FUNCTIONS or _is_allowed_estimator_class(module, name)):
        return None
    if _match_allow(full, allow):
        return None
    if "." in name:
        return "high", "imports %s through an attribute path (protocol 4 getattr chain)" % full
    if not _IDENT.match(module) or not _IDENT.match(name):
        return "high", "imports %r from %r: not a valid Python name" % (name, module)
    if module == "__main__":
        return "high", "imports %s from __main__: code of the script that saved it, resolved at load" % full
    if module == "builtins":
        return "high", "imports builtins.%s, not on the allowlist" % name
    if root in KNOWN_LIBRARY_ROOTS:
        if name[:1].isupper():
            return "medium", "constructs %s (library class, not on the allowlist)" % full
        return "medium", "calls %s (library function, not on the allowlist)" % full
    return "high", "imports %s: module not on the allowlist" % full


# ---------------------------------------------------------------------------------------------
# Symbolic values
# ---------------------------------------------------------------------------------------------
class Global(object):
    __slots__ = ("module", "name")

    def __init__(self, module, name):
        self.module = module
        self.name = name

    def __repr__(self):
        return "%s.%s" % (self.module, self.name)


class Instance(object):
    """What a call (REDUCE, NEWOBJ, OBJ, INST) would return."""
    __slots__ = ("factory", "args", "state")

    def __init__(self, factory, args):
        self.factory = factory
        self.args = args
        self.state = None

    def __repr__(self):
        return "%r(...)" % (self.factory,)


class Opaque(object):
    __slots__ = ("what",)

    def __init__(self, what):
        self.what = what

    def __repr__(self):
        return "<%s>" % self.what


class _Mark(object):
    pass


class PickleLimit(Exception):
    """A configured limit stopped the scan (not a malformed stream)."""


MAX_KEPT_ITEMS = 64          # items kept per container (the rest is counted, not kept)
MAX_KEPT_STR = 4096          # longer strings become Opaque
MAX_KEPT_BYTES = 1 << 20     # longer bytes are skipped with seek, not read
MAX_LINE = 1 << 20           # line arguments of protocol 0/1 opcodes
DEFAULT_MAX_OPS = 10 * 1000 * 1000
MAX_NESTING = 3

_DTYPE_RE = re.compile(r"^[<>|=]?([biufcmMSUVa?])(\d*)$")


def summarize(value, depth=0):
    """Short, safe text for a symbolic value (for findings)."""
    if depth > 2:
        return "..."
    if isinstance(value, (Global, Instance, Opaque)):
        return repr(value)
    if isinstance(value, (tuple, list)):
        inner = ", ".join(summarize(v, depth + 1) for v in value[:6])
        if len(value) > 6:
            inner += ", ..."
        if isinstance(value, tuple):
            return "(%s,)" % inner if len(value) == 1 else "(%s)" % inner
        return "[%s]" % inner
    if isinstance(value, dict):
        return "{%s}" % ", ".join("%s: %s" % (summarize(k, depth + 1), summarize(v, depth + 1))
                                  for k, v in list(value.items())[:6])
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


class _CappedReader(object):
    """File wrapper that caps readline() (pickletools' readers call f.readline())."""

    def __init__(self, fileobj):
        self._f = fileobj

    def read(self, size=-1):
        return self._f.read(size)

    def readline(self, size=-1):
        return self._f.readline(MAX_LINE)

    def tell(self):
        return self._f.tell()


class PickleScanner(object):
    """Walk one pickle stream and collect its imports, calls and problems.

    ``fileobj`` must support read/readline/tell; forward seeks are emulated with reads when
    the object can't seek (zip members, decompressors).
    """

    def __init__(self, fileobj, allow=None, max_ops=DEFAULT_MAX_OPS, depth=0, size=None, joblib_arrays=True,
                 lenient=False):
        self.f = fileobj
        # joblib_arrays: read as joblib.load does (array bytes follow each NumpyArrayWrapper);
        # False reads as pickle.load does (those bytes are opcodes).
        self.joblib_arrays = joblib_arrays
        # lenient: bytes that may not be a pickle at all (data after the last STOP, joblib array
        # bytes read as opcodes). An import of a name that is not valid Python fails in the real
        # unpickler before anything runs, and a parse error only means "not a pickle": neither is
        # reported; every valid import still is.
        self.lenient = lenient
        self.extensions = {}    # copyreg extension code -> (module, name), from add_extension calls
        self.size = size
        self.reader = _CappedReader(fileobj)
        self.allow = allow or ()
        self.max_ops = max_ops
        self.depth = depth
        self.imports = {}       # "module.name" -> record
        self.findings = []
        self.ops = 0
        self.protocol = 0
        self.persistent_ids = 0
        self.first_value = None
        self.opcode_names = set()

    # -- helpers -----------------------------------------------------------------------------
    def _finding(self, severity, kind, detail, **extra):
        item = {"severity": severity, "kind": kind, "detail": detail}
        item.update(extra)
        if item not in self.findings and len(self.findings) < 200:
            self.findings.append(item)

    def _skip(self, count):
        """Skip ``count`` bytes; raise ValueError when the stream ends first."""
        if self.size is not None:  # a plain file of known size: seek instead of reading
            here = self.f.tell()
            if here + count > self.size:
                raise ValueError("argument of %d bytes runs past the end of the stream" % count)
            self.f.seek(here + count)
            return
        left = count
        while left:
            chunk = self.f.read(min(left, 1 << 20))
            if not chunk:
                raise ValueError("argument of %d bytes runs past the end of the stream" % count)
            left -= len(chunk)

    def _read_exact(self, count):
        data = self.f.read(count)
        if len(data) != count:
            raise ValueError("stream ends inside an argument (%d of %d bytes)" % (len(data), count))
        return data

    def _read_line(self):
        line = self.f.readline(MAX_LINE)
        if not line.endswith(b"\n"):
            raise ValueError("no newline at the end of a protocol 0 argument")
        return line[:-1]

    def _record_import(self, module, name, opname):
        if not isinstance(module, str) or not isinstance(name, str):
            if self.lenient:  # the real unpickler refuses a STACK_GLOBAL of non-strings too
                raise ValueError("an import whose name is not a constant string")
            self._finding("critical", "dynamic_import",
                          "%s with operands that are not constant strings (%s, %s): the name is computed at load time"
                          % (opname, summarize(module), summarize(name)))
            return Opaque("dynamic global")
        if self.protocol < 3:
            module, name = normalize_global(module, name)
        if self.lenient and not (_IDENT.match(module) and _IDENT.match(name)):
            raise ValueError("import of a name that is not valid Python")
        full = "%s.%s" % (module, name)
        record = self.imports.get(full)
        if record is None:
            verdict = classify_global(module, name, self.allow)
            record = {"global": full, "module": module, "name": name, "opcodes": [],
                      "severity": verdict[0] if verdict else None,
                      "reason": verdict[1] if verdict else None, "count": 0, "calls": []}
            self.imports[full] = record
        record["count"] += 1
        if opname not in record["opcodes"]:
            record["opcodes"].append(opname)
        return Global(module, name)

    def _call(self, func, args, opname):
        if isinstance(func, Global):
            record = self.imports.get("%s.%s" % (func.module, func.name))
            if record is not None and record["severity"] and len(record["calls"]) < 3:
                call = "%s via %s with %s" % (record["global"], opname, summarize(args))
                if call not in record["calls"]:
                    record["calls"].append(call)
            full = "%s.%s" % (func.module, func.name)
            if full in NESTED_LOADERS:
                self._nested(full, args)
            elif full in ("copyreg.add_extension", "copy_reg.add_extension") and isinstance(args, tuple) \
                    and len(args) == 3 and isinstance(args[2], int):
                self.extensions[args[2]] = (args[0], args[1])
        elif isinstance(func, Instance) or isinstance(func, Opaque):
            self._finding("medium", "computed_call",
                          "%s calls an object built at load time (%s) with %s"
                          % (opname, summarize(func), summarize(args)))
        return Instance(func, args)

    def _nested(self, loader, args):
        payload = args[0] if isinstance(args, tuple) and args else None
        # Protocol 2 writes bytes as _codecs.encode(text, 'latin1').
        if isinstance(payload, Instance) and isinstance(payload.factory, Global) \
                and (payload.factory.module, payload.factory.name) == ("_codecs", "encode") \
                and isinstance(payload.args, tuple) and payload.args and isinstance(payload.args[0], str):
            try:
                payload = payload.args[0].encode("latin-1")
            except UnicodeEncodeError:
                payload = None
        if isinstance(payload, (bytes, bytearray)) and self.depth < MAX_NESTING:
            inner = PickleScanner(io.BytesIO(bytes(payload)), self.allow, self.max_ops, self.depth + 1)
            result = inner.scan()
            for record in result["imports"]:
                if record["severity"]:
                    self._finding(record["severity"], "nested_import",
                                  "pickle nested in %s: %s" % (loader, record["reason"]),
                                  **{"global": record["global"]})
            if result["malformed"]:
                self._finding("high", "malformed", "pickle nested in %s: %s" % (loader, result["malformed"]))
        else:
            self._finding("critical", "nested_pickle",
                          "%s loads another pickle whose bytes are not a constant here" % loader)

    def _joblib_array(self, obj):
        """joblib.load reads each array right after its NumpyArrayWrapper's BUILD: raw bytes whose
        length numpy computes from the dtype (its pickled state wins over the type string for
        flexible types), or, for dtypes holding objects, one more pickle."""
        state = obj.state if isinstance(obj.state, dict) else {}
        shape = state.get("shape")
        dtype = state.get("dtype")
        typestr = None
        dtype_state = ()
        if isinstance(dtype, Instance) and isinstance(dtype.args, tuple) and dtype.args:
            typestr = dtype.args[0]
            dtype_state = dtype.state if isinstance(dtype.state, tuple) else ()
        flags = dtype_state[7] if len(dtype_state) >= 8 else None
        if (isinstance(typestr, str) and typestr.lstrip("<>|=")[:1] in ("O", "o")) \
                or (isinstance(flags, int) and flags & 1):
            self._joblib_object_array()  # joblib writes no alignment padding before an object array's pickle
            return
        if state.get("numpy_array_alignment_bytes") is not None:
            padding = self._read_exact(1)[0]
            self._skip(padding)
        match = _DTYPE_RE.match(typestr) if isinstance(typestr, str) else None
        if not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape) or not match:
            raise PickleLimit("joblib array with a shape or dtype that cannot be followed (%s, %s)"
                              % (summarize(shape), summarize(typestr)))
        kind, size = match.group(1), match.group(2)
        itemsize = int(size) if size else (1 if kind in "?b" else 0)
        if kind == "U":
            itemsize *= 4
        if kind in "VSUa" and len(dtype_state) >= 6 and isinstance(dtype_state[5], int) and dtype_state[5] > 0:
            itemsize = dtype_state[5]
        if itemsize <= 0:
            raise PickleLimit("joblib array dtype %r has no fixed item size" % typestr)
        count = 1
        for dim in shape:
            count *= dim
        self._skip(count * itemsize)

    def _joblib_object_array(self):
        """An object array is written as a pickle of its own, inline: scan it as part of this one."""
        inner = PickleScanner(self.f, self.allow, self.max_ops - self.ops, self.depth, self.size,
                              self.joblib_arrays, self.lenient)
        result = inner.scan()
        self.ops += inner.ops
        for full, record in inner.imports.items():
            mine = self.imports.setdefault(full, record)
            if mine is not record:
                mine["count"] += record["count"]
        for item in inner.findings:
            if item.get("kind") != "import":
                self._finding(item["severity"], item["kind"], "object array pickled inside joblib: " + item["detail"])
        if not result["complete"]:
            raise ValueError("object array pickle inside joblib is incomplete")

    # -- the machine ---------------------------------------------------------------------------
    def scan(self):
        """Scan one pickle (up to STOP). Returns a dict; never raises on bad input."""
        malformed = None
        limit = None
        stopped = False
        start = self._tell()
        try:
            stopped = self._run()
        except PickleLimit as exc:
            limit = str(exc)
        except Exception as exc:  # pylint: disable=broad-except
            # Whatever stops the walk (bad opcodes, a decompressor's or a zip member's error), the
            # stream is malformed from here on and every import seen so far is kept.
            malformed = "%s at byte %s" % (str(exc) or exc.__class__.__name__, self._tell())
        if not stopped and not malformed and not limit:
            malformed = "stream ends before STOP"
        if malformed and not self.lenient:
            self._finding("high", "malformed", "malformed pickle: %s" % malformed)
        if limit:
            self._finding("medium", "limit", "not fully inspected: %s" % limit)
        imports = sorted(self.imports.values(), key=lambda r: (-SEVERITY_RANK.get(r["severity"], -1), r["global"]))
        for record in imports:
            if record["severity"]:
                detail = record["reason"]
                if record["calls"]:
                    detail += "; " + "; ".join(record["calls"])
                self._finding(record["severity"], "import", detail, **{"global": record["global"]})
        return {"start": start, "end": self._tell(), "ops": self.ops, "protocol": self.protocol,
                "complete": stopped and not malformed and not limit, "malformed": malformed,
                "limit": limit, "imports": imports, "findings": self.findings,
                "persistent_ids": self.persistent_ids, "first_value": self.first_value}

    def _tell(self):
        try:
            return self.f.tell()
        except (OSError, AttributeError, ValueError):
            return None

    def _run(self):
        stack = []
        marks = []
        memo = {}
        code2op = _CODE2OP
        while True:
            code = self.f.read(1)
            if not code:
                raise ValueError("stream ends before STOP")
            op = code2op.get(code)
            if op is None:
                raise ValueError("unknown opcode %r" % code)
            self.ops += 1
            if self.ops > self.max_ops:
                raise PickleLimit("more than %d opcodes" % self.max_ops)
            name = op.name
            self.opcode_names.add(name)
            arg = self._read_arg(op)

            if name == "PROTO":
                if arg > 5:
                    raise ValueError("unsupported protocol %d" % arg)
                self.protocol = arg
            elif name == "FRAME":
                pass
            elif name == "STOP":
                if not stack:
                    raise ValueError("STOP with an empty stack")
                if self.first_value is None:
                    self.first_value = stack[-1] if isinstance(stack[-1], (int, str)) else None
                return True
            elif name == "MARK":
                marks.append(len(stack))
            elif name in ("GLOBAL", "INST"):
                module, gname = arg
                value = self._record_import(module, gname, name)
                if name == "INST":
                    args = tuple(self._pop_mark(stack, marks))
                    value = self._call(value, args, name)
                stack.append(value)
            elif name == "STACK_GLOBAL":
                gname = stack.pop()
                module = stack.pop()
                stack.append(self._record_import(module, gname, name))
            elif name == "REDUCE":
                args = stack.pop()
                func = stack.pop()
                stack.append(self._call(func, args, name))
            elif name == "NEWOBJ":
                args = stack.pop()
                cls = stack.pop()
                stack.append(self._call(cls, args, name))
            elif name == "NEWOBJ_EX":
                stack.pop()
                args = stack.pop()
                cls = stack.pop()
                stack.append(self._call(cls, args, name))
            elif name == "OBJ":
                items = self._pop_mark(stack, marks)
                if not items:
                    raise ValueError("OBJ without a class")
                stack.append(self._call(items[0], tuple(items[1:]), name))
            elif name == "BUILD":
                state = stack.pop()
                obj = stack[-1]
                if isinstance(obj, Instance):
                    obj.state = state
                    factory = obj.factory
                    if self.joblib_arrays and isinstance(factory, Global) \
                            and factory.module == "joblib.numpy_pickle" and factory.name == "NumpyArrayWrapper":
                        self._joblib_array(obj)
            elif name in ("PERSID", "BINPERSID"):
                if name == "BINPERSID":
                    stack.pop()
                self.persistent_ids += 1
                stack.append(Opaque("persistent id"))
            elif name in ("EXT1", "EXT2", "EXT4"):
                if arg in self.extensions:  # registered earlier in this stream by copyreg.add_extension
                    module, gname = self.extensions[arg]
                    stack.append(self._record_import(module, gname, name))
                else:
                    self._finding("high", "extension",
                                  "%s %d imports through the copyreg extension registry (name not in the file)"
                                  % (name, arg))
                    stack.append(Opaque("extension %d" % arg))
            elif name in ("NEXT_BUFFER", "READONLY_BUFFER"):
                if name == "NEXT_BUFFER":
                    stack.append(Opaque("out-of-band buffer"))
                self._finding("low", "out_of_band", "%s: out-of-band buffers are not stored in files" % name)
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                if arg not in memo:
                    raise ValueError("%s of memo slot %r that was never stored" % (name, arg))
                stack.append(memo[arg])
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                if arg < 0:
                    raise ValueError("negative memo slot")
                memo[arg] = stack[-1]
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1]
            elif name == "POP":
                if stack:
                    stack.pop()
                else:
                    self._pop_mark(stack, marks)
            elif name == "POP_MARK":
                self._pop_mark(stack, marks)
            elif name == "DUP":
                stack.append(stack[-1])
            elif name in ("EMPTY_LIST",):
                stack.append([])
            elif name == "EMPTY_TUPLE":
                stack.append(())
            elif name == "EMPTY_DICT":
                stack.append({})
            elif name == "EMPTY_SET":
                stack.append(Opaque("set"))
            elif name in ("LIST", "TUPLE", "FROZENSET"):
                items = self._pop_mark(stack, marks)
                stack.append(tuple(items[:MAX_KEPT_ITEMS]) if name == "TUPLE" else
                             (list(items[:MAX_KEPT_ITEMS]) if name == "LIST" else Opaque("frozenset")))
            elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
                count = int(name[-1])
                if len(stack) < count:
                    raise IndexError("%s needs %d items" % (name, count))
                items = tuple(stack[-count:])
                del stack[-count:]
                stack.append(items)
            elif name == "DICT":
                items = self._pop_mark(stack, marks)
                stack.append(self._to_dict(items))
            elif name == "APPEND":
                value = stack.pop()
                self._append(stack[-1], [value])
            elif name == "APPENDS":
                items = self._pop_mark(stack, marks)
                self._append(stack[-1], items)
            elif name == "SETITEM":
                value = stack.pop()
                key = stack.pop()
                self._setitems(stack[-1], [key, value])
            elif name == "SETITEMS":
                items = self._pop_mark(stack, marks)
                self._setitems(stack[-1], items)
            elif name == "ADDITEMS":
                self._pop_mark(stack, marks)
                if not stack:
                    raise IndexError("ADDITEMS without a set")
            elif name == "NONE":
                stack.append(None)
            elif name == "NEWTRUE":
                stack.append(True)
            elif name == "NEWFALSE":
                stack.append(False)
            else:
                # Every remaining opcode pushes its (decoded) argument: ints, floats, strings, bytes.
                stack.append(arg)

    @staticmethod
    def _pop_mark(stack, marks):
        if not marks:
            raise ValueError("no MARK on the mark stack")
        at = marks.pop()
        if at > len(stack):
            raise ValueError("MARK above the stack")
        items = stack[at:]
        del stack[at:]
        return items

    @staticmethod
    def _to_dict(items):
        if len(items) % 2:
            raise ValueError("odd number of items for a dict")
        result = {}
        for i in range(0, min(len(items), 2 * MAX_KEPT_ITEMS), 2):
            key = items[i]
            if isinstance(key, (str, int, float, bytes, bool, type(None))):
                result[key] = items[i + 1]
        return result

    @staticmethod
    def _append(target, items):
        if isinstance(target, list):
            room = MAX_KEPT_ITEMS - len(target)
            if room > 0:
                target.extend(items[:room])
        elif isinstance(target, (tuple, dict, str, bytes, int, float, bool)) or target is None:
            raise ValueError("APPEND to a %s" % type(target).__name__)

    @staticmethod
    def _setitems(target, items):
        if len(items) % 2:
            raise ValueError("odd number of items for SETITEMS")
        if isinstance(target, dict):
            for i in range(0, len(items), 2):
                key = items[i]
                if len(target) < MAX_KEPT_ITEMS and isinstance(key, (str, int, float, bytes, bool, type(None))):
                    target[key] = items[i + 1]
        elif isinstance(target, (tuple, list, str, bytes, int, float, bool)) or target is None:
            raise ValueError("SETITEM on a %s" % type(target).__name__)

    def _read_arg(self, op):
        desc = op.arg
        if desc is None:
            return None
        kind = desc.name
        if kind == "stringnl_noescape_pair":  # GLOBAL / INST: the unpickler decodes UTF-8
            module = self._read_line().decode("utf-8")
            name = self._read_line().decode("utf-8")
            return module, name
        if kind == "stringnl_noescape":      # PERSID
            return self._read_line().decode("ascii", "replace")
        size_format = _LENGTH_PREFIX.get(kind)
        if size_format is not None:
            length = struct.unpack(size_format, self._read_exact(struct.calcsize(size_format)))[0]
            if length < 0:
                raise ValueError("negative length %d" % length)
            if kind in ("long1", "long4"):
                if length > 1 << 16:
                    raise ValueError("integer of %d bytes" % length)
                return int.from_bytes(self._read_exact(length), "little", signed=True)
            if length > MAX_KEPT_BYTES:
                self._skip(length)
                return Opaque("%d bytes" % length)
            data = self._read_exact(length)
            if kind.startswith("unicodestring"):
                text = data.decode("utf-8", "surrogatepass")
                return text if len(text) <= MAX_KEPT_STR else Opaque("str of %d chars" % len(text))
            if kind.startswith("string"):  # protocol 1/2 str: the unpickler decodes ASCII by default
                return data.decode("latin-1") if len(data) <= MAX_KEPT_STR else Opaque("string")
            return data
        return desc.reader(self.reader)


_CODE2OP = dict((op.code.encode("latin-1"), op) for op in pickletools.opcodes)
_LENGTH_PREFIX = {
    "string1": "<B", "bytes1": "<B", "unicodestring1": "<B", "long1": "<B",
    "string4": "<i", "long4": "<i",
    "bytes4": "<I", "unicodestring4": "<I",
    "bytes8": "<Q", "bytearray8": "<Q", "unicodestring8": "<Q",
}


def max_severity(findings):
    best = None
    for item in findings:
        sev = item.get("severity")
        if sev in SEVERITY_RANK and (best is None or SEVERITY_RANK[sev] > SEVERITY_RANK[best]):
            best = sev
    return best


def scan_pickles(fileobj, allow=None, max_ops=DEFAULT_MAX_OPS, max_pickles=64, size=None, joblib_arrays=True,
                 lenient=False):
    """Scan every pickle in the stream, one after the other, as repeated ``pickle.load`` calls would.

    A loader may call ``pickle.load`` again after a STOP (legacy ``torch.save`` writes several
    pickles; any program can), and a pickle needs no PROTO header to start, so whatever follows a
    STOP is scanned as one more pickle. The first pickle is scanned strictly; the ones after it
    leniently (``PickleScanner.lenient``), because data that is not a pickle (the raw tensor bytes
    of a legacy torch file) follows real ones. ``lenient=True`` scans the first one leniently too
    (a second reading of bytes already scanned strictly another way).

    Returns {"pickles": [results], "findings": [...], "legacy_torch": bool}.
    """
    results = []
    findings = []
    legacy = False
    for index in range(max_pickles):
        if index > 0:
            try:
                pos = fileobj.tell()
                more = fileobj.read(1)
                fileobj.seek(pos)
            except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
                more = None
            if not more or more not in _CODE2OP:
                break
        scanner = PickleScanner(fileobj, allow=allow, max_ops=max_ops, size=size, joblib_arrays=joblib_arrays,
                                lenient=lenient or index > 0)
        result = scanner.scan()
        results.append(result)
        for item in result["findings"]:
            if index > 0:
                item = dict(item, detail="pickle #%d after the first STOP: %s" % (index + 1, item["detail"]))
            if item not in findings:
                findings.append(item)
        if index == 0 and result["first_value"] == TORCH_LEGACY_MAGIC:
            legacy = True
        if not result["complete"]:
            break
    return {"pickles": results, "findings": findings, "legacy_torch": legacy}


def looks_like_pickle(head):
    """Cheap test on the first bytes: a protocol 2-5 header, or any opcode start that parses.

    ``pickle.load`` needs no PROTO header: a stream may start with FRAME, a string, MARK, a
    protocol 0 text opcode... so every opcode is a possible start."""
    if len(head) >= 2 and head[0:1] == b"\x80" and head[1] in (1, 2, 3, 4, 5):
        return True
    if not head or head[0:1] not in _CODE2OP or head[0:1] == b".":
        return False
    scanner = PickleScanner(io.BytesIO(head), max_ops=200000)
    result = scanner.scan()
    if result["complete"] and result["ops"] >= 2:
        return True
    # A truncated stream still counts when it imported valid Python names and went on with more
    # valid opcodes (two lines of text starting with "c" are not enough).
    return result["ops"] >= 3 and any(_IDENT.match(r["module"] or "") and _IDENT.match(r["name"] or "")
                                      for r in result["imports"])


def opcode_start(head):
    """True when the first byte is a pickle opcode (the stream may be a pickle too long to probe)."""
    return bool(head) and head[0:1] in _CODE2OP
