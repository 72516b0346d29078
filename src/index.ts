export { Session } from './session.js';
export type { SessionOptions, WaitOptions, SessionSnapshot } from './session.js';
export { ComputeTask } from './compute-task.js';
export type { ComputeTaskOptions } from './compute-task.js';
export { AITask } from './ai-task.js';
export type { AITaskOptions } from './ai-task.js';
export { BaseTask } from './task-base.js';
export type { TaskResult, TaskSnapshot, TaskEvent, TaskFunction, ModuleFunctionRef, LocalTaskOptions } from './task-types.js';
export {
  RhapsodyError,
  BackendError,
  TaskValidationError,
  TaskExecutionError,
  SessionError,
  ResourceError,
  TaskCanceledError,
  TimeoutError,
  isRhapsodyError,
} from './errors.js';
export { Backend } from './backends/backend.js';
export type { BackendSnapshot } from './backends/backend.js';
export type { TaskHandle, Outcome, RunResult, FailureDetails, TaskSpec, ComputeTaskSpec, AITaskSpec, RankInfo } from './run/task-handle.js';
export { processFailure, stdoutOf } from './run/outcome.js';
export type { ProcessEnd, FailureLabel } from './run/outcome.js';
export { ConcurrentExecutionBackend } from './backends/execution/concurrent-backend.js';
export type { ConcurrentExecutionBackendOptions, Executor } from './backends/execution/concurrent-backend.js';
export type { SessionStatistics, GraphCounts } from './internal/statistics.js';
export type { InspectOption } from './internal/inspect-hub.js';
export { TaskState, taskMachine, backendMachine, sessionMachine, waitMachine, processGroupMachine, rankMachine, inferenceRequestMachine, modelServiceMachine } from '../machines/index.js';
export type { TaskStateName, BackendStateName, SessionStateName, WaitMode } from '../machines/index.js';
export { watchBackend, watchProgress, progressLine } from './progress.js';
export type { ProgressOptions } from './progress.js';
export { TelemetryManager } from './telemetry/telemetry-manager.js';
export type { TelemetryOptions, TelemetrySummary, TelemetryMetrics, TaskSpan } from './telemetry/telemetry-manager.js';
export type {
  TelemetryEvent,
  TaskTelemetryEvent,
  SessionTelemetryEvent,
  BackendTelemetryEvent,
  ResourceSample,
  TelemetryErrorEvent,
} from './telemetry/telemetry-events.js';
export type { HistogramSnapshot } from './telemetry/latency-histogram.js';
export { startInspectorServer } from './inspect/inspector-relay.js';
export type { InspectorServer, InspectorServerOptions } from './inspect/inspector-relay.js';
export { HpcExecutionBackend } from './backends/execution/hpc-backend.js';
export type { HpcExecutionBackendOptions } from './backends/execution/hpc-backend.js';
export { Policy, Placement } from './hpc/policy.js';
export type { PolicyOptions } from './hpc/policy.js';
export type { ProcessTemplate } from './hpc/process-template.js';
export type { NodeInfo } from './hpc/resource-scheduler.js';
export { System } from './backends/execution/system.js';
export { DistributedExecutionBackend } from './backends/execution/distributed-backend.js';
export type { DistributedExecutionBackendOptions } from './backends/execution/distributed-backend.js';
export { startDistributedWorker } from './distributed/distributed-worker.js';
export type { DistributedWorkerOptions, DistributedWorker } from './distributed/distributed-worker.js';
export { LocalCluster, SlurmCluster } from '../actors/distributed/worker-clusters.js';
export type { WorkerCluster, WorkerSpec, SlurmClusterOptions } from '../actors/distributed/worker-clusters.js';
export type { Resources } from './distributed/protocol.js';
export { InferenceBackend } from './backends/inference/inference-backend.js';
export type { InferenceOptions } from './backends/inference/inference-backend.js';
export { OpenAIInferenceBackend } from './backends/inference/openai-backend.js';
export type { OpenAIInferenceBackendOptions } from './backends/inference/openai-backend.js';
export { VllmInferenceBackend } from './backends/inference/vllm-backend.js';
export type { VllmInferenceBackendOptions, ServiceCommandInput } from './backends/inference/vllm-backend.js';
export { DaskExecutionBackend } from './backends/execution/dask-backend.js';
export type { DaskExecutionBackendOptions, DaskOutcome } from './backends/execution/dask-backend.js';
export type { DaskSlurmOptions } from '../actors/dask/dask-slurm-workers.js';
export type { PythonFunctionRef } from './task-types.js';
export { daskClientMachine } from '../machines/dask-client.machine.js';
export { DependencyError } from './errors.js';
export type { RetryOptions, PromptFunction } from './task-types.js';
