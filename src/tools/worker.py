# Trident's python tool worker. Embedded in the trident binary (src/tools/python_worker.rs) and
# run as `python3 -c <this file> REQUEST_FD REPLY_FD NONCE`. One worker serves many tool calls
# of one trident invocation, one at a time; modules are imported once and kept, so module-level
# state survives between calls, as in the original runtime (which ran tools in-process).
#
# Protocol: every message is a 4-byte big-endian length, then that much UTF-8 JSON.
#   trident -> worker (REQUEST_FD): {"tool", "file", "module", "function", "root", "kwargs"}
#   worker -> trident (REPLY_FD), any number of {"event": NAME, "level": LEVEL, "data": {...}}
#   (from trident_tool.emit, sent at once), then exactly one
#     {"done": true, "result": VALUE}                                     on success
#     {"done": true, "failure": STAGE, "type": CLASS, "error": TEXT, "retire": BOOL}
#   with STAGE one of `input`, `load`, `missing_function`, `not_callable`, `call`, `result`.
#   Before the final message the worker writes NONCE-marked bytes to the output pipe, so
#   trident knows it has read everything the call printed.
# End of file on REQUEST_FD: the worker exits.
#
# The protocol descriptors are moved above 100 and made non-inheritable before any tool code
# runs: a tool (or what it starts) cannot read or write them by accident. stdin is /dev/null;
# stdout and stderr (file descriptors 1 and 2) are both the output pipe, which trident passes to
# its stderr in one block per call. Keep this script compatible with Python 3.8.

import fcntl
import importlib.util
import json
import math
import os
import struct
import sys
import threading
import types

# `inspect`, `traceback` and `asyncio` cost milliseconds to import: only when needed.

PRIVATE_FD_FLOOR = 100
LEVELS = {"debug": "DEBUG", "info": "INFO", "warning": "WARNING", "warn": "WARNING", "error": "ERROR"}


def private_copy(fd):
    copy = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, PRIVATE_FD_FLOOR)
    return copy


REQUESTS = private_copy(int(sys.argv[1]))
REPLIES = private_copy(int(sys.argv[2]))
os.close(int(sys.argv[1]))
os.close(int(sys.argv[2]))
SENTINEL = ("\x00\x1etrident-call-end-" + sys.argv[3] + "\x1e\x00").encode("ascii")
OUTPUT = private_copy(2)
SEND_LOCK = threading.Lock()
MODULES = {}
LOOP = None

# Prints reach trident as they happen (live `tool_output` events), not at exit.
sys.stdout.reconfigure(line_buffering=True)


def read_exactly(count):
    chunks = []
    while count > 0:
        chunk = os.read(REQUESTS, min(count, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def receive():
    header = read_exactly(4)
    if header is None:
        return None
    (length,) = struct.unpack(">I", header)
    payload = read_exactly(length) if length else b""
    if payload is None:
        return None
    return json.loads(payload.decode("utf-8"))


def encode(message):
    return json.dumps(message, ensure_ascii=False, allow_nan=False).encode("utf-8", "replace")


def send_bytes(payload):
    frame = memoryview(struct.pack(">I", len(payload)) + payload)
    with SEND_LOCK:
        while frame:
            frame = frame[os.write(REPLIES, frame):]


def json_key(key):
    # The same key conversion json.dumps applies, extended to any key via str().
    if isinstance(key, str):
        return key
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    if isinstance(key, float):
        return float.__repr__(key)
    if isinstance(key, int):
        return int.__repr__(key)
    return str(key)


def json_ready(value):
    # `default=str` semantics: anything JSON cannot represent becomes its str(); non-finite
    # floats become null because JSON has no NaN or Infinity.
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {json_key(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return str(value)


def emit(name, level="info", **data):
    """Report an event of this tool: it becomes a `tool_event` in trident's telemetry stream,
    with this node's id, written at once. `level` is debug, info (default), warning or error;
    `data` values JSON cannot hold become their str()."""
    if not isinstance(name, str) or not name:
        raise TypeError("trident_tool.emit(): the event name must be a non-empty string")
    wire_level = LEVELS.get(level.lower()) if isinstance(level, str) else None
    if wire_level is None:
        raise ValueError("trident_tool.emit(): level must be one of debug, info, warning, error")
    send_bytes(encode({"event": name, "level": wire_level, "data": json_ready(data)}))


helper = types.ModuleType("trident_tool")
helper.__doc__ = "Helpers for tools run by trident: emit(name, level='info', **data)."
helper.emit = emit
sys.modules["trident_tool"] = helper


class Failure(Exception):
    def __init__(self, stage, error_type, text, retire=False):
        Exception.__init__(self, text)
        self.stage, self.error_type, self.text, self.retire = stage, error_type, text, retire


def load_module(request):
    file = request["file"]
    module = MODULES.get(file)
    if module is not None:
        return module
    module_dir, root = os.path.dirname(file), request["root"]
    sys.path[:] = [p for p in sys.path if p not in ("", module_dir, root)]
    sys.path[:0] = [module_dir, root]
    try:
        spec = importlib.util.spec_from_file_location(request["module"], file)
        if spec is None or spec.loader is None:
            raise ImportError("no module loader for this file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    except BaseException as e:
        print_traceback()
        raise Failure("load", type(e).__name__, str(e), not isinstance(e, Exception))
    MODULES[file] = module
    return module


def print_traceback():
    import traceback

    traceback.print_exc()


def find_function(module, name):
    function = getattr(module, name, None)
    if function is None:
        raise Failure("missing_function", "ToolError", name)
    if not callable(function):
        raise Failure("not_callable", "ToolError", name)
    return function


def await_result(result):
    # One event loop per worker, kept: async clients a module creates survive between calls.
    global LOOP
    import asyncio

    if LOOP is None or LOOP.is_closed():
        LOOP = asyncio.new_event_loop()
    asyncio.set_event_loop(LOOP)
    return LOOP.run_until_complete(result)


def call(request):
    kwargs = request.get("kwargs") or {}
    if not isinstance(kwargs, dict):
        raise Failure("input", "TypeError", "keyword arguments must be a JSON object")
    function = find_function(load_module(request), request["function"])
    try:
        result = function(**kwargs)
        if isinstance(result, types.CoroutineType):
            result = await_result(result)
    except BaseException as e:
        print_traceback()
        # SystemExit, KeyboardInterrupt...: the interpreter may be half torn down; replace it.
        raise Failure("call", type(e).__name__, str(e), not isinstance(e, Exception))
    try:
        return encode({"done": True, "result": json_ready(result)})
    except BaseException as e:
        raise Failure("result", type(e).__name__, str(e))


def reset_process_state(root):
    # What a previous call may have changed and the next one must not inherit.
    for fd in (1, 2):
        os.dup2(OUTPUT, fd)
    sys.stdout, sys.stderr, sys.stdin = sys.__stdout__, sys.__stderr__, sys.__stdin__
    try:
        os.chdir(root)
    except OSError:
        pass


def set_call_env(env):
    # Variables for this call only (the worker outlives it): returns what to restore.
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    return saved


def restore_env(saved):
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def end_of_call_marker():
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:
            pass
    data = memoryview(SENTINEL)
    while data:
        data = data[os.write(OUTPUT, data):]


def serve():
    while True:
        try:
            request = receive()
        except Exception as e:
            end_of_call_marker()
            send_bytes(encode({"done": True, "failure": "input", "type": type(e).__name__,
                               "error": str(e), "retire": True}))
            return
        if request is None:
            return
        reset_process_state(request.get("root") or ".")
        saved_env = set_call_env(request.get("env") or {})
        retire = False
        try:
            reply = call(request)
        except Failure as f:
            retire = f.retire
            reply = encode({"done": True, "failure": f.stage, "type": f.error_type,
                            "error": f.text, "retire": f.retire})
        restore_env(saved_env)
        end_of_call_marker()
        send_bytes(reply)
        if retire:
            return


try:
    serve()
finally:
    # Leave at once: a tool's non-daemon thread or atexit hook must not keep a worker alive.
    os._exit(0)
