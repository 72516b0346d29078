# The Python original's execution model on this machine, for reference: asyncio subprocesses
# (vfork) at concurrency 8, and a thread pool running trivial functions.
import asyncio, json, sys, time
from concurrent.futures import ThreadPoolExecutor

async def executables(n):
    sem = asyncio.Semaphore(8)
    async def one():
        async with sem:
            p = await asyncio.create_subprocess_exec('/bin/true', stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            await p.communicate()
    t = time.perf_counter()
    await asyncio.gather(*[one() for _ in range(n)])
    return n / (time.perf_counter() - t)

async def sequential(n):
    # one /bin/true at a time, each awaited (a pipeline): p50 in µs
    lat = []
    for i in range(n + 20):
        t = time.perf_counter()
        p = await asyncio.create_subprocess_exec('/bin/true', stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        await p.communicate()
        if i >= 20:
            lat.append((time.perf_counter() - t) * 1e6)
    lat.sort()
    return lat[len(lat) // 2]

async def functions(n):
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor() as pool:
        t = time.perf_counter()
        await asyncio.gather(*[loop.run_in_executor(pool, lambda x: x + 1, i) for i in range(n)])
        return n / (time.perf_counter() - t)

case = sys.argv[1]
import os
spawns = int(os.environ.get('RHAPSODY_BENCH_SPAWNS', '1000'))
value = asyncio.run(executables(spawns) if case == 'py-exec' else sequential(spawns // 5) if case == 'py-seq' else functions(20000))
print(json.dumps({'case': case, 'value': value}))
