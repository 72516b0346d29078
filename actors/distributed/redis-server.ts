import { spawn, type ChildProcess } from 'node:child_process';
import { BackendError } from '../../src/errors.js';
import { freePort } from '../process/free-port.js';
import { processGone } from '../process/process-spawner.js';

/** A private redis-server on loopback, no persistence; stopped with `close()`. */
export class RedisServer {
  private child: ChildProcess | null = null;
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(port?: number): Promise<RedisServer> {
    const server = new RedisServer(port ?? (await freePort()));
    await server.start();
    return server;
  }

  async start(): Promise<void> {
    // a shell holds redis-server and our end of a pipe: when this process goes, even by SIGKILL,
    // the pipe closes and the shell stops the server, so a crashed host leaves no Redis behind
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'];
    const guard = 'redis-server "$@" & r=$!; trap \'kill $r 2>/dev/null\' TERM; read _; kill $r 2>/dev/null; wait $r';
    const child = spawn('sh', ['-c', guard, 'sh', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const onData = (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) resolve();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      child.once('error', (err) => reject(new BackendError(`cannot start redis-server: ${err.message}`)));
      child.once('exit', (code) => reject(new BackendError(`redis-server exited (${code}): ${out.slice(-300)}${/not found/.test(out) ? ' (install it: apt-get install redis-server)' : ''}`)));
    });
    child.stdout!.removeAllListeners('data').resume();
    child.stderr!.removeAllListeners('data').resume();
  }

  async close(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const gone = processGone(child);
    child.stdin!.end(); // the guard stops the server and waits for it
    const t = setTimeout(() => child.kill('SIGTERM'), 5000);
    await gone;
    clearTimeout(t);
  }
}
