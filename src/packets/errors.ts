/** A frame we were asked to read is not what it must be (too short, wrong type, inconsistent lengths). */
export class PacketError extends Error {
  override readonly name = 'PacketError';
}
