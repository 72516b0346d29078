import { table, type Command } from './command.js';
import { doctor, type Probe } from './doctor-probes.js';
import { packageVersion } from './package-root.js';

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'what this machine offers the runtime: Node, the spawner, SLURM, MPI, Redis, Dask, node-llama-cpp, nvidia-smi and GPUs',
  details: 'Each line says whether a tool was found and its version. A native spawner is looked for at\n' + '$RHAPSODY_NATIVE_SPAWNER, then in the cache folder it is built into (~/.cache/rhapsody).',
  options: {
    json: { type: 'boolean', description: 'print the probes as JSON' },
  },
  async run({ values }) {
    const probes = await doctor();
    if (values.json) {
      console.log(JSON.stringify({ rhapsody: packageVersion(), probes }, null, 2));
      return 0;
    }
    console.log(`rhapsody ${packageVersion()} on ${process.platform}-${process.arch}`);
    for (const line of table(probes.map((p) => [`  ${p.name}`, `${status(p)}${p.version ? ` ${p.version}` : ''} · ${p.detail}`]))) console.log(line);
    return 0;
  },
};

function status(p: Probe): string {
  if (p.name === 'spawner') return p.found ? 'native' : 'node';
  if (p.name === 'gpus') return p.found ? 'found' : 'none';
  return p.found ? 'found' : 'missing';
}
