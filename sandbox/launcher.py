# Runbooker's Python launcher, run as: python3 -B -c <this> runbook.py [params.json]
# A script with a top-level main() is imported as module "runbook" and main
# is called with the parameters as keyword arguments; any other script runs
# as __main__ with "--Name value" argv. An uncaught exception prints its
# traceback to stderr and sends "Type: message" as an Exception frame.
import sys


def _rb_frame(t, text, value=None):
    import json
    d = {"t": t, "text": text}
    if value is not None:
        d["value"] = value
    try:
        line = json.dumps(d, default=str, allow_nan=False)
    except ValueError:  # NaN, circular: keep the text
        line = json.dumps({"t": t, "text": text})
    sys.stdout.write("\x1eRB:" + line + "\n")
    sys.stdout.flush()


def _rb_kwargs(fn, kw):
    # Parameters annotated as datetime get a datetime, not its ISO string.
    import datetime
    import inspect
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return kw
    for name, p in sig.parameters.items():
        v = kw.get(name)
        if isinstance(v, str) and p.annotation in (datetime.datetime, "datetime", "datetime.datetime"):
            try:
                kw[name] = datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
            except ValueError:
                pass
    return kw


def _rb_run():
    import ast
    import json
    import types
    path, params = sys.argv[1], {"kwargs": {}, "argv": []}
    if len(sys.argv) > 2 and sys.argv[2]:
        with open(sys.argv[2], encoding="utf-8") as f:
            params = json.load(f)
    try:  # timely records and the right order with stderr
        sys.stdout.reconfigure(line_buffering=True)
    except AttributeError:
        pass
    with open(path, "rb") as f:
        tree = ast.parse(f.read(), path)
    has_main = any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == "main"
                   for n in tree.body)
    name = "runbook" if has_main else "__main__"
    mod = types.ModuleType(name)
    mod.__file__ = path
    sys.modules[name] = mod
    sys.argv = [path] + ([] if has_main else params["argv"])
    exec(compile(tree, path, "exec"), mod.__dict__)
    main = mod.__dict__.get("main")
    if not has_main or not callable(main):
        return
    result = main(**_rb_kwargs(main, dict(params["kwargs"])))
    if hasattr(result, "__await__"):
        import asyncio

        async def _await(aw):
            return await aw
        result = asyncio.run(_await(result))
    if result is not None:
        _rb_frame("Output", str(result), None if isinstance(result, str) else result)


try:
    _rb_run()
except SystemExit:
    raise
except BaseException as e:
    import traceback
    try:
        sys.stdout.flush()
    except Exception:
        pass
    tb = e.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == "<string>":
        tb = tb.tb_next  # hide the launcher's own frames
    traceback.print_exception(type(e), e, tb)
    sys.stderr.flush()
    msg = str(e)
    _rb_frame("Exception", type(e).__name__ + (": " + msg if msg else ""))
    sys.exit(1)
