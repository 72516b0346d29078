# Dask's own client on the same scheduler, as the floor for bench/dask.ts:
#   python3 dask_floor.py tcp://127.0.0.1:PORT exec|functions|latency N
# exec: client.map of a function running /bin/true (as the backend's worker side does);
# functions: client.map(operator.add); latency: client.submit(...).result() one at a time (p50 ms).
import json, operator, subprocess, sys, time
from distributed import Client


def true_cmd(_):
    p = subprocess.run(["/bin/true"], capture_output=True, start_new_session=True)
    return p.returncode


addr, case, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with Client(addr, timeout=30) as c:
    if case == "latency":
        c.submit(operator.add, 0, 1, pure=False).result()
        times = []
        for i in range(n):
            t = time.perf_counter()
            c.submit(operator.add, i, 1, pure=False).result()
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        print(json.dumps({"value": times[len(times) // 2]}))
    else:
        fn, args = (true_cmd, [range(n)]) if case == "exec" else (operator.add, [range(n), [1] * n])
        t = time.perf_counter()
        futs = c.map(fn, *args, pure=False)
        c.gather(futs)
        print(json.dumps({"value": n / (time.perf_counter() - t)}))
