export type { JuteConnectRequest, JuteConnectResponse } from './connect.js';
export {
  decodeConnectRequest,
  decodeConnectResponse,
  encodeConnectRequest,
  encodeConnectResponse,
} from './connect.js';
export { errorCodeOfJute, JUTE_ERROR_CODE_NUMBERS, juteErrorCode } from './error-codes.js';
export { JuteError } from './errors.js';
export type { JuteFrameBudget, JuteFrameDecoderOptions } from './frame.js';
export { FRAME_BYTES_MAX_DEFAULT, JuteFrameDecoder } from './frame.js';
export type { OpCode } from './op-codes.js';
export { KEEPER_STATE, OP, OP_NAMES, opName, XID } from './op-codes.js';
export type { JuteLimits } from './reader.js';
export { MAX_BUFFER_BYTES_DEFAULT, MAX_VECTOR_LENGTH_DEFAULT } from './reader.js';
export type { JuteMultiResult, JuteNotification, JuteReply, JuteResponse } from './replies.js';
export {
  decodeNotification,
  decodeReply,
  encodeNotification,
  encodeReply,
  REPLY_HEADER_BYTES,
} from './replies.js';
export type { JuteRequest, JuteRequestFrame } from './requests.js';
export {
  decodeRequest,
  encodeRequest,
  isKnownRequestOp,
  MULTI_HEADER_BYTES,
  peekHeader,
  REQUEST_HEADER_BYTES,
} from './requests.js';
export { FRAME_HEADER_BYTES } from './writer.js';
