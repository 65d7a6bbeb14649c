export type { DropReason, PeerTransport, RefusalReason, TransportStats } from './transport';
export { copyTransportStats, DROP_REASONS, emptyTransportStats, REFUSAL_REASONS, TransportError } from './transport';
export type { CorkableStream, FrameDecoderOptions, FrameReaderOptions } from './framing';
export { createFrameWriter, DEFAULT_MAX_FRAME_BYTES, encodeFrame, FRAME_HEADER_BYTES, FrameDecoder, readFrames } from './framing';
export type { HandshakeHello, HandshakeOptions, HandshakeProof, HandshakeRefusal, HandshakeStep, TranscriptInput } from './handshake';
export {
  HANDSHAKE_DOMAIN,
  HANDSHAKE_MAX_FRAME_BYTES,
  HANDSHAKE_VERSION,
  handshakeTranscript,
  HandshakeError,
  HandshakeSession,
  NONCE_BYTES,
  TLS_EXPORTER_BYTES,
  TLS_EXPORTER_LABEL,
  tlsChannelBinding,
} from './handshake';
export type { TcpMember, TcpTransportOptions, TcpTransportTls, TransportLogger } from './tcpOptions';
export { TransportConfigError } from './tcpOptions';
export type { TcpTransport } from './tcpTransport';
export { createTcpTransport, MAX_PENDING_CONNECTIONS } from './tcpTransport';
