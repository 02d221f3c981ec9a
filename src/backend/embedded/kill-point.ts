// The hook is core's (operations use it too); re-exported for the embedded modules.
export { killPoint } from '../../core/kill-point.js';
