// Floor for the distributed benchmark: a bare BullMQ worker running a trivial function.
import { Worker } from 'bullmq';
const [url, queue, concurrency] = process.argv.slice(2);
const w = new Worker(queue, async (job) => job.data.x + 1, { connection: { url, maxRetriesPerRequest: null }, concurrency: Number(concurrency) });
w.on('ready', () => process.send?.('ready'));
process.on('disconnect', () => void w.close().then(() => process.exit(0)));
