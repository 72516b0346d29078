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

async def sequential_exec(n):
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

def sequential(n):
    # submit().result() one at a time: the thread pool's round trip for a lone task, p50/p99 in µs
    lat = []
    with ThreadPoolExecutor() as pool:
        for i in range(n + 200):
            t = time.perf_counter()
            pool.submit(lambda x: x + 1, i).result()
            if i >= 200:
                lat.append((time.perf_counter() - t) * 1e6)
    lat.sort()
    return {'value': lat[len(lat) // 2], 'p99': lat[min(len(lat) - 1, int(len(lat) * 0.99))]}

async def sequential_asyncio(n):
    # the same through asyncio (await loop.run_in_executor), as Python RHAPSODY runs a function task
    loop = asyncio.get_running_loop()
    lat = []
    with ThreadPoolExecutor() as pool:
        for i in range(n + 200):
            t = time.perf_counter()
            await loop.run_in_executor(pool, lambda x: x + 1, i)
            if i >= 200:
                lat.append((time.perf_counter() - t) * 1e6)
    lat.sort()
    return {'value': lat[len(lat) // 2], 'p99': lat[min(len(lat) - 1, int(len(lat) * 0.99))]}

case = sys.argv[1]
import os
spawns = int(os.environ.get('RHAPSODY_BENCH_SPAWNS', '1000'))
if case == 'py-seq-asyncio':
    print(json.dumps({'case': case, **asyncio.run(sequential_asyncio(3000))}))
elif case == 'py-seq':
    print(json.dumps({'case': case, **sequential(3000)}))
elif case == 'py-exec-seq':
    print(json.dumps({'case': case, 'value': asyncio.run(sequential_exec(spawns // 5))}))
else:
    value = asyncio.run(executables(spawns) if case == 'py-exec' else functions(20000))
    print(json.dumps({'case': case, 'value': value}))
