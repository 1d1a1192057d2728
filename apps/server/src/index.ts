export type { MemberPorts } from './ports.js';
export { defaultPorts, PORTS_DEFAULT } from './ports.js';
