# Trident's static tool introspection. Embedded in the trident binary (src/tools/introspect.rs)
# and run once per validation as `python3 -c <this file> REQUEST_JSON`, where REQUEST_JSON is a
# list of {"file": PATH, "function": NAME}. Never imports (so never runs) user code: each module
# is parsed with `ast` and the function's definition read from the tree.
# Prints one JSON list, one entry per request, in order:
#   {"status": "ok", "parameters": [...], "required": [...], "var_keyword": BOOL, "doc": TEXT|null}
#   {"status": "unknown", "detail": TEXT}   the name is bound some other way (import, assignment)
#   {"status": "problem", "kind": KIND, "detail": TEXT}
# KIND: `unreadable`, `syntax_error`, `missing_function`. `doc` is the function's docstring,
# its indentation cleaned as `inspect.cleandoc` does (null when it has none).
# Keep this script compatible with Python 3.8.

import ast
import json
import sys


def top_level_statements(body):
    # Definitions at module level, including inside top-level if/try/with blocks.
    for node in body:
        yield node
        for field in ("body", "orelse", "finalbody", "handlers"):
            inner = getattr(node, field, None)
            if isinstance(inner, list) and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                for child in top_level_statements(inner):
                    yield child


def bound_names(node):
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(alias.asname or alias.name).split(".")[0] for alias in node.names]
    targets = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    names = []
    for target in targets:
        for sub in ast.walk(target):
            if isinstance(sub, ast.Name):
                names.append(sub.id)
    return names


def signature(function):
    args = function.args
    positional = list(getattr(args, "posonlyargs", [])) + list(args.args)
    defaults_from = len(positional) - len(args.defaults)
    parameters, required = [], []
    for index, arg in enumerate(positional):
        parameters.append(arg.arg)
        if index < defaults_from:
            required.append(arg.arg)
    for arg, default in zip(args.kwonlyargs, args.kw_defaults):
        parameters.append(arg.arg)
        if default is None:
            required.append(arg.arg)
    return {"status": "ok", "parameters": parameters, "required": required,
            "var_keyword": args.kwarg is not None, "doc": ast.get_docstring(function)}


def inspect_one(path, name):
    try:
        with open(path, "rb") as handle:
            source = handle.read()
    except OSError as e:
        return {"status": "problem", "kind": "unreadable", "detail": str(e)}
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as e:
        return {"status": "problem", "kind": "syntax_error",
                "detail": "line {}: {}".format(e.lineno, e.msg)}
    except ValueError as e:
        return {"status": "problem", "kind": "syntax_error", "detail": str(e)}
    found = None
    for node in top_level_statements(tree.body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            found = signature(node)
        elif isinstance(node, ast.ClassDef) and node.name == name:
            found = {"status": "unknown", "detail": "'{}' is a class".format(name)}
        elif name in bound_names(node):
            found = {"status": "unknown",
                     "detail": "'{}' is bound by an import or assignment".format(name)}
    if found is None:
        return {"status": "problem", "kind": "missing_function",
                "detail": "no function '{}' is defined at the top level".format(name)}
    return found


def main():
    requests = json.loads(sys.argv[1])
    replies = [inspect_one(r["file"], r["function"]) for r in requests]
    sys.stdout.write(json.dumps(replies))


main()
