/**
 * The largest maxRetransmits and maxPacketLifeTime (ms) a channel may have:
 * what the peer's decoders take (channel-protocol.ts, trusted-channel-header.ts),
 * so a channel that config or a request may open is one the peer understands.
 * Beyond it a channel is reliable in all but name (65 s, 65535 resends).
 */
export const MAX_CHANNEL_RELIABILITY = 65_535
