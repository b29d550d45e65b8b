// Bytes as hex in tests, one pair: `hex` reads a fixture written as hex text, `toHex` prints bytes for comparing.

/**
 * Bytes from hex fields ("0019", "0010", ...) joined; spaces, commas and `//` comments are ignored, so a fixture can
 * be laid out field by field. Anything else that is not hex, or an odd digit count, throws (Buffer would truncate).
 */
export function hex(...fields: string[]): Uint8Array {
  const s = fields.join('\n').replace(/\/\/.*$/gm, '').replace(/[\s,]/g, '');
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new Error(`not an even number of hex digits: ${s}`);
  return new Uint8Array(Buffer.from(s, 'hex'));
}

/** The bytes of `b` (a view: only its own range) as lower-case hex. */
export const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
