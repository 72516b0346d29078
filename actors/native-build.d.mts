/** The native spawner binary's path, built on first use; or null and why not. */
export function buildNativeSpawner(): Promise<{ path: string; reason?: undefined } | { path: null; reason: string }>;
