import { assign, setup } from 'xstate';

export interface DaskClientWorker {
  address: string;
  name: string;
  nthreads: number;
  resources: Record<string, number>;
}

export interface DaskClientContext {
  backend: string;
  python: string | null;
  /** the client process */
  pid: number | null;
  /** address | cluster | local | slurm */
  mode: string;
  scheduler: string | null;
  /** class of the cluster the client made (LocalCluster, SLURMCluster, …), null for an address */
  cluster: string | null;
  dashboard: string | null;
  workers: DaskClientWorker[];
  /** pids of the srun steps running SLURM workers */
  slurmSteps: number[];
  error: string | null;
}

export type DaskClientEvent =
  | { type: 'READY'; pid: number; python: string; scheduler: string; cluster: string | null; dashboard: string | null; workers: DaskClientWorker[] }
  | { type: 'WORKERS'; workers: DaskClientWorker[]; slurmSteps?: number[] }
  | { type: 'FAILED'; error: string }
  | { type: 'CLOSE' }
  | { type: 'CLOSED' };

/**
 * The Dask client process of a DaskExecutionBackend, for the inspector: `starting` (interpreter,
 * cluster, workers) → `ready` (scheduler address, cluster, live workers) → `closing` → `closed`;
 * `failed` when it could not start or died (its error says why).
 *
 * @example
 * const dask = await DaskExecutionBackend.create({ resources: { nWorkers: 2 } });
 * console.log(dask.clientState.value); // 'ready'
 */
export const daskClientMachine = setup({
  types: {
    context: {} as DaskClientContext,
    events: {} as DaskClientEvent,
    input: {} as { backend: string; mode: string },
  },
  actions: {
    keepReady: assign(({ event }) => {
      const e = event as Extract<DaskClientEvent, { type: 'READY' }>;
      return { pid: e.pid, python: e.python, scheduler: e.scheduler, cluster: e.cluster, dashboard: e.dashboard, workers: e.workers };
    }),
    keepWorkers: assign(({ event, context }) => {
      const e = event as Extract<DaskClientEvent, { type: 'WORKERS' }>;
      return { workers: e.workers, slurmSteps: e.slurmSteps ?? context.slurmSteps };
    }),
    keepError: assign({ error: ({ event }) => (event as { error?: string }).error ?? null }),
  },
}).createMachine({
  id: 'daskClient',
  context: ({ input }) => ({
    backend: input.backend,
    python: null,
    pid: null,
    mode: input.mode,
    scheduler: null,
    cluster: null,
    dashboard: null,
    workers: [],
    slurmSteps: [],
    error: null,
  }),
  initial: 'starting',
  on: { WORKERS: { actions: 'keepWorkers' } },
  states: {
    starting: { on: { READY: { target: 'ready', actions: 'keepReady' }, FAILED: { target: 'failed', actions: 'keepError' }, CLOSE: 'closing' } },
    ready: { on: { FAILED: { target: 'failed', actions: 'keepError' }, CLOSE: 'closing' } },
    closing: { on: { CLOSED: 'closed', FAILED: { target: 'failed', actions: 'keepError' } } },
    closed: { type: 'final' },
    failed: { type: 'final' },
  },
});
