# Trident's python tool runner. Embedded in the trident binary (src/tools/python_process.rs)
# and run as `python3 -c <this file> MODE MODULE_FILE MODULE_NAME FUNCTION PROJECT_ROOT`.
#
# MODE is `call` (read the keyword arguments as a JSON object on stdin, call the function) or
# `params` (report the function's parameter names). Exactly one JSON document, the reply, is
# written to the file descriptor that was stdout when the process started:
#   {"result": VALUE}                                    on success
#   {"failure": STAGE, "type": CLASS_NAME, "error": TEXT} otherwise (exit status 1)
# where STAGE is `input`, `load`, `missing_function`, `not_callable`, `call` or `result`.
#
# Before any tool code runs, file descriptor 1 is pointed at stderr, so whatever the tool
# prints (from Python, C extensions or child processes) can never corrupt the reply.
# Keep this script compatible with Python 3.8.

import importlib.util
import inspect
import json
import math
import os
import sys
import traceback

MODE, MODULE_FILE, MODULE_NAME, FUNCTION, PROJECT_ROOT = sys.argv[1:6]

# The reply channel: a private, non-inheritable copy of the original stdout.
REPLY = os.fdopen(os.dup(1), "wb")
sys.stdout.flush()
os.dup2(2, 1)
# Line buffering keeps the tool's prints in the stderr tail even if it is killed on timeout.
sys.stdout.reconfigure(line_buffering=True)


def encode(reply):
    return json.dumps(reply, ensure_ascii=False, allow_nan=False).encode("utf-8", "replace")


def send(reply, status):
    write(encode(reply), status)


def write(data, status):
    REPLY.write(data)
    REPLY.flush()
    REPLY.close()
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(status)


def fail(stage, error_type, text):
    send({"failure": stage, "type": error_type, "error": text}, 1)


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


def read_keyword_arguments():
    raw = sys.stdin.buffer.read()
    # Nothing the tool starts may read (or hold open) our stdin pipe.
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    if not raw.strip():
        return {}
    try:
        kwargs = json.loads(raw.decode("utf-8"))
    except Exception as e:
        fail("input", type(e).__name__, str(e))
    if not isinstance(kwargs, dict):
        fail("input", "TypeError", "keyword arguments must be a JSON object")
    return kwargs


def load_module():
    module_dir = os.path.dirname(MODULE_FILE)
    sys.path[:] = [p for p in sys.path if p not in ("", module_dir, PROJECT_ROOT)]
    sys.path[:0] = [module_dir, PROJECT_ROOT]
    try:
        spec = importlib.util.spec_from_file_location(MODULE_NAME, MODULE_FILE)
        if spec is None or spec.loader is None:
            raise ImportError("no module loader for this file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    except BaseException as e:
        traceback.print_exc()
        fail("load", type(e).__name__, str(e))
    return module


def find_function(module):
    function = getattr(module, FUNCTION, None)
    if function is None:
        fail("missing_function", "ToolError", FUNCTION)
    if not callable(function):
        fail("not_callable", "ToolError", FUNCTION)
    return function


def parameter_names(function):
    skipped = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [
        name
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind not in skipped
    ]


def main():
    kwargs = read_keyword_arguments() if MODE == "call" else {}
    function = find_function(load_module())
    if MODE == "params":
        try:
            names = parameter_names(function)
        except Exception as e:
            fail("result", type(e).__name__, str(e))
        send({"result": names}, 0)
    try:
        result = function(**kwargs)
        if inspect.iscoroutine(result):
            import asyncio

            result = asyncio.run(result)
    except BaseException as e:
        traceback.print_exc()
        fail("call", type(e).__name__, str(e))
    try:
        data = encode({"result": json_ready(result)})
    except BaseException as e:
        fail("result", type(e).__name__, str(e))
    write(data, 0)


main()
