/** The engine's public surface. Nothing here knows about Python, LLVM or packaging. */
export type { Task, TaskInputs, TaskContext, ToolRef, InstalledTool, BuiltTool, Target, TaskGraph, ExecOptions, ExecResult } from './task.js';
export type { EngineEvent, EngineListener, BuildSummary, PlannedTask, TaskSummary, FailureReason } from './events.js';
export { EventBus } from './events.js';
export { PbError, UsageError, PlanError, MissingToolError, TaskFailure, errorMessage } from './errors.js';
export { formatReason, type Reason } from './explain.js';
export { planBuild, runBuild, plannedTasks, logPathFor, tailFile, type EngineOptions, type Plan, type PlanEntry } from './engine.js';
export { resolveTargets, topoClosure, validateGraph } from './plan.js';
export { globMatcher, globRegExp, GLOB_EXCLUDE, GLOB_FILE_NAME, GLOB_TASK_ID, type GlobOptions } from './glob.js';
export { stateDir, statePath, loadState, writeFileAtomic, copyFileAtomic } from './state.js';
export { acquireLock, withEntryLock } from './lock.js';
export { mountsUnder, unmountUnder } from './mounts.js';
export { which, ToolResolver } from './tools.js';
export { sha256 } from './hash.js';
export { tracePath } from './trace.js';
