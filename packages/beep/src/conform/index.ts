/** The conformance kit's public API (docs/conformance.md): check a live BEEP listener or initiator. */
export { checkListener, type ListenerCheckOptions, type CheckResult } from './check-listener.js';
export { judgeInitiators, type InitiatorCheckOptions } from './check-initiator.js';
export { exitStatus, formatReport, type RuleReport, type Verdict } from './report.js';
export { defaultVectorsDir } from './vectors.js';
