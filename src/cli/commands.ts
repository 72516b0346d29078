import type { Command } from './command.js';
import { doctorCommand } from './doctor.js';
import { inspectCommand } from './inspect.js';
import { machinesCommand } from './machines.js';
import { reportCommand } from './report.js';
import { serveModelCommand } from './serve-model.js';
import { tinyModelCommand } from './tiny-model.js';
import { workerCommand } from './worker.js';

/** Every `rhapsody` command, in the order the help lists them. */
export const COMMANDS: Command[] = [doctorCommand, reportCommand, workerCommand, serveModelCommand, tinyModelCommand, machinesCommand, inspectCommand];
