// rhapsody/report: read a telemetry checkpoint back (parseRun) and render the HTML report
// (renderReport); `rhapsody report` uses them.
export { parseRun } from './report/report-model.js';
export type { RunModel, ReportTask, ReportAttempt, ReportEdge } from './report/report-model.js';
export { renderReport } from './report/report-html.js';
