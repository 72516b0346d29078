// Shared by the report's sections: state colours, escaping, durations.

export const COLORS: Readonly<Record<string, string>> = {
  DONE: '#2e9e5b',
  FAILED: '#d64545',
  CANCELED: '#9a9a9a',
  RUNNING: '#3b7dd8',
  QUEUED: '#e0a030',
  SUBMITTED: '#e0c060',
  NEW: '#cccccc',
  /** an attempt that failed and was retried */
  RETRIED: '#e07b39',
  /** waiting for dependencies */
  WAITING: '#9b8ac4',
};

export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
export const ms = (x: number): string => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(1)} ms`);
