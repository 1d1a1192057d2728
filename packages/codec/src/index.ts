export { CodecError } from './errors.js';
export { encodeFrame, FRAME_BYTES_MAX_DEFAULT, FRAME_HEADER_BYTES, FrameDecoder } from './frame.js';
