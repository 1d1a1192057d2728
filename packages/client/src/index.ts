export type { ConnectString, ServerAddress } from './connect-string.js';
export { CLIENT_PORT_DEFAULT, parseConnectString } from './connect-string.js';
