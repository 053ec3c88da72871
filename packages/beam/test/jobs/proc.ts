/** /proc helpers for process-group tests: @beamgate/base/testing's. */
export { groupMembers, hasProc, processAlive } from '@beamgate/base/testing';
