export { taskMachine, TaskState, TERMINAL_STATES } from './task.machine.js';
export type { TaskStateName, TaskMachineContext, TaskMachineEvent, TaskEventType } from './task.machine.js';
export { backendMachine } from './backend.machine.js';
export type { BackendStateName, BackendMachineContext, BackendMachineEvent } from './backend.machine.js';
export { sessionMachine } from './session.machine.js';
export type { SessionStateName, SessionMachineContext, SessionMachineEvent } from './session.machine.js';
export { waitMachine } from './wait.machine.js';
export type { WaitMode, WaitMachineContext, WaitMachineEvent } from './wait.machine.js';
