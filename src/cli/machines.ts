import { backendMachine, inferenceRequestMachine, modelServiceMachine, processGroupMachine, rankMachine, sessionMachine, taskMachine, waitMachine } from '../../machines/index.js';
import type { Command } from './command.js';

export const machinesCommand: Command = {
  name: 'machines',
  summary: 'print the state machine definitions as JSON (for Stately Studio)',
  options: {},
  async run() {
    const all = [taskMachine, backendMachine, sessionMachine, waitMachine, processGroupMachine, rankMachine, inferenceRequestMachine, modelServiceMachine];
    console.log(JSON.stringify(Object.fromEntries(all.map((m) => [m.id, m.definition])), null, 2));
    return 0;
  },
};
