/** The native spawner binary's path, built on first use; or null and why not. */
export function buildNativeSpawner(sourcePath?: string): Promise<{ path: string; reason?: undefined } | { path: null; reason: string }>;
/** Where a built spawner is looked for, in order, without building one: `$RHAPSODY_NATIVE_SPAWNER`, then the cache folders. */
export function nativeSpawnerCandidates(sourcePath?: string, env?: NodeJS.ProcessEnv): string[];
