"""Runs ON THE DASK WORKERS: the three task kinds of rhapsody's DaskExecutionBackend.

Imported by module name (the bridge uploads this file to every worker and puts its folder on the
PYTHONPATH of the workers it starts), so Dask pickles these functions by reference. Each takes one
spec dict and returns (ok, payload): ok -> JSON text of the result, not ok -> an error dict. A task's
own failure is data, not a raised exception, so Dask never retries it and nothing needs unpickling
on the client; only infrastructure failures (a dead worker) surface as Dask errors.
"""
import importlib
import json
import os
import signal
import subprocess
import tempfile
import time
import traceback

# A command is polled this often for cancellation (Dask cannot stop a running task's thread).
POLL_S = 0.1

CLOSURE_HINT = (
    " (functions run in a worker must be self-contained: outer variables are not shipped. "
    "Import what you need with `await import()` inside the function, pass values as args, or use a module reference)"
)

# Rebuilds a shipped JS function from its source text (as actors/worker-runtime.mjs does), calls it
# with JSON args and writes {ok, value | error} as JSON to RHAPSODY_RESULT_FILE.
# the project's wire codec, beside this module (uploaded with it to workers we did not start)
# beside this module where it was uploaded with it (foreign workers); else where the runtime keeps it
_BESIDE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wire-codec.mjs")
WIRE_CODEC = _BESIDE if os.path.exists(_BESIDE) else os.environ.get("RHAPSODY_WIRE_CODEC_FILE", _BESIDE)

JS_RUNNER = r"""
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
globalThis.__vite_ssr_dynamic_import__ ??= (s) => import(s);
const p = JSON.parse(readFileSync(0, 'utf8'));
function compile(source) {
  try { return (0, eval)(`(${source})`); } catch (first) {
    try { const f = Object.values((0, eval)(`({ ${source} })`))[0]; if (typeof f === 'function') return f; } catch {}
    throw new SyntaxError(`cannot rebuild the function from its source text: ${first.message}`);
  }
}
let res;
try {
  let fn;
  if (p.wire !== undefined && process.env.RHAPSODY_WIRE_CODEC) {
    // a closure: the codec rebuilds it with its captured values (and tsx's __name)
    const codec = await import(pathToFileURL(process.env.RHAPSODY_WIRE_CODEC).href);
    fn = codec.compile(p.wire);
  } else if (p.source !== undefined) fn = compile(p.source);
  else {
    const m = await import(p.module);
    fn = m[p.export ?? 'default'];
    if (typeof fn !== 'function') throw new TypeError(`module ${p.module} has no function export "${p.export ?? 'default'}"`);
  }
  res = { ok: true, value: await fn(...p.args) };
} catch (e) {
  const err = e instanceof Error ? e : new Error(String(e));
  let message = err.message;
  if (p.source !== undefined && err.name === 'ReferenceError') message += process.env.RHAPSODY_CLOSURE_HINT;
  res = { ok: false, error: { type: err.name, message, traceback: err.stack ?? '' } };
}
let text;
try { text = JSON.stringify(res); } catch (e) {
  text = JSON.stringify({ ok: false, error: { type: 'TypeError', message: `the return value cannot be sent back as JSON: ${e.message}`, traceback: '' } });
}
writeFileSync(process.env.RHAPSODY_RESULT_FILE, text ?? '{"ok":true}');
"""


def _current():
    """(worker, key) when running on a Dask worker, else (None, None)."""
    try:
        from distributed import get_worker
        w = get_worker()
        return w, w.get_current_task()
    except Exception:  # noqa: BLE001  (a plain call, outside a worker)
        return None, None


def _released(w, key):
    """Has the scheduler released or cancelled this task (client cancel, client gone), or is the
    worker closing (its command would outlive it: it runs in its own session)?"""
    if w is None:
        return False
    if getattr(getattr(w, "status", None), "name", "") in ("closing", "closed", "closing_gracefully", "failed"):
        return True
    tasks = getattr(getattr(w, "state", w), "tasks", {})
    ts = tasks.get(key)
    return ts is None or ts.state in ("cancelled", "released", "forgotten")


def _run(argv, env, cwd, timeout_s, stdin_text=None, shell=False):
    """Runs a process in its own session; kills its whole group on timeout or cancellation."""
    w, key = _current()
    e = dict(os.environ)
    if env:
        e.update(env)
    t0 = time.monotonic()
    p = subprocess.Popen(argv, env=e, cwd=cwd, stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, shell=shell)
    killed = None
    pending_input = stdin_text.encode() if stdin_text is not None else None
    out = err = b""
    while True:
        try:  # a retried communicate() returns everything read since the first call
            out, err = p.communicate(input=pending_input, timeout=POLL_S)
            break
        except subprocess.TimeoutExpired:
            pending_input = None  # communicate() keeps feeding what it started on retries
        if timeout_s is not None and time.monotonic() - t0 > timeout_s:
            killed = "timeout"
        elif _released(w, key):
            killed = "canceled"
        if killed:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(p.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    out, err = p.communicate(timeout=3)
                    break
                except subprocess.TimeoutExpired:
                    continue
            break
    sig = -p.returncode if p.returncode is not None and p.returncode < 0 else None
    return {"rc": p.returncode, "signal": signal.Signals(sig).name if sig else None, "stdout": (out or b"").decode(errors="replace"),
            "stderr": (err or b"").decode(errors="replace"), "killed": killed, "worker": getattr(w, "name", None)}


def run_cmd(spec):
    """An executable task: {file, args, shell, cwd, env, timeout (s)}."""
    try:
        shell = spec.get("shell")
        if shell:
            line = " ".join([spec["file"], *spec.get("args", [])])  # as the local backend (execa): not escaped
            argv = [shell if isinstance(shell, str) else "/bin/sh", "-c", line]
        else:
            argv = [spec["file"], *spec.get("args", [])]
        return True, json.dumps(_run(argv, spec.get("env"), spec.get("cwd"), spec.get("timeout")))
    except Exception as exc:  # noqa: BLE001  (cannot start it: no such file, bad cwd, ...)
        return False, _error(exc)


def run_js(spec):
    """A JS function task, run by `node`: {node, source | module+export, args, timeout (s)}."""
    fd, result_file = tempfile.mkstemp(prefix="rhapsody-js-", suffix=".json")
    os.close(fd)
    try:
        node = spec.get("node") or "node"
        if not os.path.exists(node):
            node = "node"
        env = {"RHAPSODY_RESULT_FILE": result_file, "RHAPSODY_CLOSURE_HINT": CLOSURE_HINT}
        if os.path.exists(WIRE_CODEC):
            env["RHAPSODY_WIRE_CODEC"] = WIRE_CODEC
        payload = json.dumps({k: spec.get(k) for k in ("source", "wire", "module", "export", "args") if k in spec})
        r = _run([node, "--input-type=module", "-e", JS_RUNNER], env, spec.get("cwd"), spec.get("timeout"), payload)
        with open(result_file) as f:
            text = f.read()
        if r["killed"] or not text:
            return True, json.dumps({"node": r})  # killed / crashed: the process result says how
        return True, json.dumps({"node": r, "result": json.loads(text)})
    except Exception as exc:  # noqa: BLE001
        return False, _error(exc)
    finally:
        try:
            os.unlink(result_file)
        except OSError:
            pass


def resolve(ref):
    """'package.module:attr.path' -> the object it names."""
    mod, sep, name = ref.partition(":")
    if not sep or not mod or not name:
        raise ValueError(f"python reference {ref!r} must be 'package.module:function'")
    obj = importlib.import_module(mod)
    for part in name.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"python reference {ref!r} names a {type(obj).__name__}, not a callable")
    return obj


def call_py(spec):
    """A Python callable by reference: {ref, args, kwargs}. Coroutines are run to completion."""
    try:
        fn = resolve(spec["ref"])
    except Exception as exc:  # noqa: BLE001
        return False, _error(exc, reference=True)
    try:
        value = fn(*spec.get("args", []), **spec.get("kwargs", {}))
        import inspect
        if inspect.isawaitable(value):
            import asyncio

            async def _await(v):
                return await v
            value = asyncio.run(_await(value))
    except BaseException as exc:  # noqa: BLE001  (SystemExit, KeyboardInterrupt from user code are task failures too)
        return False, _error(exc)
    try:
        return True, json.dumps(value)
    except (TypeError, ValueError) as exc:
        return False, {"type": "TypeError", "message": f"the return value ({type(value).__name__}) cannot be sent back as JSON: {exc}", "traceback": ""}


def _error(exc, reference=False):
    return {"type": type(exc).__name__, "message": str(exc),
            "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)), "reference": reference}
