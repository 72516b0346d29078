"""rhapsody's Dask client process: drives a dask.distributed cluster for a Node process (Dask has
no Node client). One long-lived process per DaskExecutionBackend, started by actors/dask-client.ts.

  python dask_bridge.py '<config JSON>'
config: {"mode": "address"|"cluster"|"local"|"scheduler", "address", "cluster", "scale",
         "local": {"nWorkers", "threadsPerWorker", "workerResources": {} | [{}, ...]},
         "host", "waitWorkers", "workerTimeout" (s), "connectTimeout" (s)}

stdin, JSON lines:  {"op":"submit","tasks":[{"id","kind":"cmd"|"py"|"js","spec":{...},"resources"}]}
                    {"op":"cancel","ids":[...]}  {"op":"wait","n","timeout"}  {"op":"close"}
stdout, JSON lines: {"ev":"ready",...} {"ev":"workers","workers":[...]} {"ev":"waited","ok",...}
                    {"ev":"done","id","ok":true,"kind","data":<JSON from the worker>}
                    {"ev":"done","id","ok":false,"category":"task"|"resource"|"backend"|"canceled","error":{type,message,traceback}}
                    {"ev":"fatal","error"} (then exits 3)  {"ev":"closed"}
Keys are the ids the backend sends (task uid + a unique run suffix): Dask returns a held key's old
result, so a key is never reused.
"""
import asyncio
import json
import os
import sys
import traceback

import rhapsody_dask_worker as W  # pickled by reference: workers import it by name

KINDS = {"cmd": W.run_cmd, "py": W.call_py, "js": W.run_js}
# Finished results fetched per gather when many tasks are in flight, and how long to let them pile up.
GATHER_BATCH = 256
GATHER_WAIT_S = 0.02
# How long the client may stay disconnected from the scheduler before the bridge gives up.
LOST_AFTER_S = 5.0


class Out:
    """The protocol stream: a private copy of the original stdout, written without ever blocking the
    event loop (a LocalCluster's scheduler shares it: a slow reader must not stall heartbeats).
    fd 1 itself goes to stderr, so stray prints (ours, a library's, a LocalCluster worker's) cannot
    corrupt the stream."""
    writer = None
    pending = []


def out(line):
    data = (line + "\n").encode()
    if Out.writer is None:
        Out.pending.append(data)
    else:
        Out.writer.write(data)


async def open_protocol_stream():
    fd = os.dup(1)
    os.dup2(2, 1)
    loop = asyncio.get_running_loop()
    f = os.fdopen(fd, "wb")
    try:
        transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, f)
        Out.writer = asyncio.StreamWriter(transport, protocol, None, loop)
    except ValueError:  # a regular file (debugging by hand): plain blocking writes

        class FileWriter:
            def write(self, data):
                f.write(data)
                f.flush()

            async def drain(self):
                pass
        Out.writer = FileWriter()
    for data in Out.pending:
        Out.writer.write(data)
    Out.pending = []


async def drain():
    """Waits until the backend has read everything (before exiting)."""
    if Out.writer is not None:
        try:
            await asyncio.wait_for(Out.writer.drain(), 5)
        except Exception:  # noqa: BLE001  (reader gone)
            pass


def emit(obj):
    out(json.dumps(obj, default=str))


def err_data(exc):
    return {"type": type(exc).__name__, "message": str(exc),
            "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))}


def make_cluster_object(text):
    """'module:factory' (called with no arguments) or a Python expression."""
    import importlib
    head, sep, tail = text.partition(":")
    if sep and head.replace(".", "").replace("_", "").isalnum() and tail.replace(".", "").replace("_", "").isalnum():
        obj = importlib.import_module(head)
        for part in tail.split("."):
            obj = getattr(obj, part)
        return obj()
    env = {"__builtins__": __builtins__}
    # `package.module.X(...)`: import package, package.module, ... as far as they are modules
    import re
    for dotted in set(re.findall(r"(?<![\w.])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)", text)):
        parts = dotted.split(".")
        for i in range(1, len(parts)):
            try:
                mod = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                break
            if i == 1:
                env[parts[0]] = mod
    return eval(text, env)  # noqa: S307  (the user's own cluster expression, run in their client process)


class Bridge:
    def __init__(self, cfg):
        self.cfg = cfg
        self.client = None
        self.cluster = None
        self.owned = False
        self.futures = {}        # id -> (future, kind)
        self.canceling = set()
        self.ready = []          # finished (id, future, kind) waiting for one batched gather
        self.gathering = False
        self.workers_seen = None
        self.closing = False

    # ---- start -------------------------------------------------------------------------------
    async def start(self):
        from distributed import Client, LocalCluster
        cfg = self.cfg
        mode = cfg["mode"]
        timeout = cfg.get("connectTimeout", 10)
        if mode == "address":
            self.client = await Client(cfg["address"], asynchronous=True, timeout=timeout)
        elif mode == "cluster":
            # made off the event loop: a synchronous cluster starts its own loop thread
            self.cluster = await asyncio.to_thread(make_cluster_object, cfg["cluster"])
            self.owned = True
            if cfg.get("scale") is not None:
                self.cluster.scale(cfg["scale"])
            # by address: a Client given a synchronous cluster object would run on that cluster's loop
            self.client = await Client(self.cluster.scheduler_address, asynchronous=True, timeout=timeout)
        else:
            loc = cfg.get("local") or {}
            n = 0 if mode == "scheduler" else int(loc.get("nWorkers", 2))
            threads = int(loc.get("threadsPerWorker", 1))
            res = loc.get("workerResources") or {}
            per = res if isinstance(res, list) else [res] * n
            self.cluster = await LocalCluster(n_workers=0, threads_per_worker=threads, processes=True,
                                              host=cfg.get("host", "127.0.0.1"), dashboard_address=None,
                                              asynchronous=True, silence_logs=int(os.environ.get("RHAPSODY_DASK_LOGLEVEL", "40")))
            self.owned = True
            base = self.cluster.new_spec
            for i in range(n):
                opts = dict(base["options"])
                r = dict(per[i] if i < len(per) else {})
                r.setdefault("CPU", threads)  # {"CPU": k} requests work on the default cluster
                opts["resources"] = r
                self.cluster.worker_spec[f"rhapsody-{i}"] = {"cls": base["cls"], "options": opts}
            await self.cluster.scale(n)
            self.client = await Client(self.cluster, asynchronous=True, timeout=timeout)
        if mode in ("address", "cluster"):
            # foreign workers cannot see our folder: ship the worker module (new workers get it too)
            from distributed.diagnostics.plugin import UploadFile
            await self.client.register_worker_plugin(UploadFile(W.__file__), name="rhapsody_dask_worker")
            if os.path.exists(W.WIRE_CODEC):
                await self.client.register_worker_plugin(UploadFile(W.WIRE_CODEC), name="rhapsody_wire_codec")
        want = cfg.get("waitWorkers") or 0
        if want:
            await self.client.wait_for_workers(want, timeout=cfg.get("workerTimeout", 60))
        await self.client._update_scheduler_info()
        info = self.client.scheduler_info()
        emit({"ev": "ready", "pid": os.getpid(), "scheduler": info.get("address"), "mode": mode,
              "cluster": type(self.cluster).__name__ if self.cluster is not None else None,
              "dashboard": self.client.dashboard_link if info.get("services", {}).get("dashboard") else None,
              "workers": self.workers()})
        self.workers_seen = sorted(w["address"] for w in self.workers())

    def workers(self):
        info = self.client.scheduler_info().get("workers", {})
        return [{"address": a, "name": str(w.get("name")), "nthreads": w.get("nthreads"), "resources": w.get("resources", {})}
                for a, w in info.items()]

    # ---- tasks -------------------------------------------------------------------------------
    def satisfiable(self, need):
        return any(all(w["resources"].get(k, 0) >= v for k, v in need.items()) for w in self.workers())

    async def submit(self, tasks):
        groups = {}
        refreshed = False
        for t in tasks:
            need = t.get("resources") or {}
            if need and not self.satisfiable(need):
                if not refreshed:
                    await self.client._update_scheduler_info()
                    refreshed = True
                if not self.satisfiable(need):
                    offers = " ".join(json.dumps(w["resources"]) for w in self.workers()) or "none"
                    emit({"ev": "done", "id": t["id"], "ok": False, "category": "resource",
                          "error": {"type": "ResourceError", "traceback": "",
                                    "message": f"no Dask worker can ever satisfy resources {json.dumps(need)} (workers offer: {offers})"}})
                    continue
            groups.setdefault((t["kind"], json.dumps(need, sort_keys=True)), []).append(t)
        for (kind, need), items in groups.items():
            res = json.loads(need) or None
            # one map per group: one graph update for the batch instead of one per task
            futs = self.client.map(KINDS[kind], [t["spec"] for t in items], key=[t["id"] for t in items],
                                   resources=res, pure=False, retries=0)
            for t, f in zip(items, futs):
                self.futures[t["id"]] = (f, kind)
                asyncio.ensure_future(self.track(t["id"], f, kind))

    async def track(self, tid, fut, kind):
        try:
            await fut._state.wait()
        except Exception:  # noqa: BLE001
            pass
        status = fut.status
        if status == "finished":
            self.ready.append((tid, fut, kind))
            if not self.gathering:
                self.gathering = True
                asyncio.ensure_future(self.gather())
            return
        self.futures.pop(tid, None)
        if status == "cancelled":
            if tid in self.canceling:
                self.canceling.discard(tid)
                emit({"ev": "done", "id": tid, "ok": False, "category": "canceled", "error": {"type": "CancelledError", "message": "canceled", "traceback": ""}})
            else:
                emit({"ev": "done", "id": tid, "ok": False, "category": "backend",
                      "error": {"type": "CancelledError", "traceback": "",
                                "message": f"Dask dropped the task (client status {self.client.status}: connection to the scheduler lost?)"}})
        else:
            exc = fut._state.exception
            tb = fut._state.traceback
            text = "".join(traceback.format_tb(tb)) if tb is not None and not isinstance(tb, str) else (tb or "")
            emit({"ev": "done", "id": tid, "ok": False, "category": "task",
                  "error": {"type": type(exc).__name__, "message": str(exc), "traceback": text}})
        fut.release()

    async def gather(self):
        try:
            while self.ready:
                # many in flight (throughput, not a pipeline): let results pile up briefly, so one
                # gather round trip (scheduler + workers) fetches many instead of a few
                if len(self.ready) < GATHER_BATCH and len(self.futures) > len(self.ready) + 8:
                    await asyncio.sleep(GATHER_WAIT_S)
                batch, self.ready = self.ready, []
                try:
                    values = await self.client.gather([f for _, f, _ in batch])
                except Exception:  # noqa: BLE001  (one lost result: fetch the others one by one)
                    values = []
                    for _, f, _ in batch:
                        try:
                            values.append(await self.client.gather(f))
                        except Exception as exc:  # noqa: BLE001
                            values.append(exc)
                for (tid, f, kind), v in zip(batch, values):
                    self.futures.pop(tid, None)
                    f.release()
                    if isinstance(v, BaseException):
                        emit({"ev": "done", "id": tid, "ok": False, "category": "backend", "error": err_data(v)})
                    elif v[0]:
                        out('{"ev":"done","id":%s,"ok":true,"kind":"%s","data":%s}' % (json.dumps(tid), kind, v[1]))
                    else:
                        emit({"ev": "done", "id": tid, "ok": False, "category": "task", "error": v[1]})
        finally:
            self.gathering = False

    async def cancel(self, ids):
        futs = []
        for tid in ids:
            entry = self.futures.get(tid)
            if entry is not None:
                self.canceling.add(tid)
                futs.append(entry[0])
        if futs:
            await self.client.cancel(futs)

    # ---- health ------------------------------------------------------------------------------
    async def monitor(self):
        """Scheduler lost for LOST_AFTER_S (or the client closed): fail what is in flight and exit."""
        bad_since = None
        loop = asyncio.get_running_loop()
        while not self.closing:
            await asyncio.sleep(0.5)
            if self.client.status != "running":
                bad_since = bad_since or loop.time()
                if loop.time() - bad_since > LOST_AFTER_S or self.client.status in ("closed", "closing"):
                    await self.fatal(f"lost the Dask scheduler (client status {self.client.status})")
                    return
                continue
            bad_since = None
            seen = sorted(w["address"] for w in self.workers())
            if seen != self.workers_seen:
                self.workers_seen = seen
                emit({"ev": "workers", "workers": self.workers()})

    async def fatal(self, message):
        for tid in list(self.futures):
            emit({"ev": "done", "id": tid, "ok": False, "category": "backend", "error": {"type": "BackendError", "message": message, "traceback": ""}})
        emit({"ev": "fatal", "error": message})
        await drain()
        self.closing = True
        await self.close(quick=True)
        os._exit(3)

    async def close(self, quick=False):
        self.closing = True
        try:
            if self.futures:
                await asyncio.wait_for(self.client.cancel([f for f, _ in self.futures.values()]), 2)
        except Exception:  # noqa: BLE001
            pass
        for what in (self.client, self.cluster if self.owned else None):
            if what is None:
                continue
            try:
                if what is self.cluster and not getattr(what, "asynchronous", False):
                    await asyncio.wait_for(asyncio.to_thread(what.close), 2 if quick else 10)  # a sync cluster blocks
                else:
                    await asyncio.wait_for(what.close(), 2 if quick else 10)
            except Exception:  # noqa: BLE001  (scheduler gone: the backend kills our process group)
                pass

    # ---- loop --------------------------------------------------------------------------------
    async def run(self):
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=256 * 1024 * 1024)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        monitor = asyncio.ensure_future(self.monitor())
        while True:
            line = await reader.readline()
            if not line:
                break  # the backend's process is gone: close what we started
            if not line.strip():
                continue
            msg = json.loads(line)
            op = msg.get("op")
            try:
                if op == "submit":
                    await self.submit(msg["tasks"])
                elif op == "cancel":
                    await self.cancel(msg["ids"])
                elif op == "wait":
                    try:
                        await self.client.wait_for_workers(msg["n"], timeout=msg.get("timeout", 60))
                        emit({"ev": "waited", "ok": True, "workers": self.workers()})
                    except Exception as exc:  # noqa: BLE001
                        emit({"ev": "waited", "ok": False, "error": str(exc), "workers": self.workers()})
                elif op == "close":
                    break
            except Exception as exc:  # noqa: BLE001
                emit({"ev": "error", "op": op, "error": err_data(exc)})
        monitor.cancel()
        await self.close()
        emit({"ev": "closed"})
        await drain()


async def amain():
    cfg = json.loads(sys.argv[1])
    await open_protocol_stream()
    bridge = Bridge(cfg)
    try:
        await bridge.start()
    except BaseException as exc:  # noqa: BLE001
        emit({"ev": "fatal", "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()})
        await drain()
        await bridge.close(quick=True)
        os._exit(3)
    await bridge.run()


if __name__ == "__main__":
    asyncio.run(amain())
