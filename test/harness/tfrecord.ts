/**
 * TFRecord framing, the format of TensorBoard event files, as TensorFlow's record writer produces it: each
 * record is its data's length (8 bytes, little-endian), a masked CRC-32C of those 8 bytes (4 bytes), the data,
 * and a masked CRC-32C of the data (4 bytes). Tests write records with it and check what was uploaded or
 * synced: `readRecords` accepts a file only if it is a sequence of whole records with valid checksums.
 */

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32C (Castagnoli), as TFRecord uses it. */
export function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC32C_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotated right by 15 bits, plus a constant. */
export function maskedCrc(data: Uint8Array): number {
  const crc = crc32c(data);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One framed record. */
export function encodeRecord(data: Uint8Array): Buffer {
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(data.length));
  const lengthCrc = Buffer.alloc(4);
  lengthCrc.writeUInt32LE(maskedCrc(length));
  const dataCrc = Buffer.alloc(4);
  dataCrc.writeUInt32LE(maskedCrc(data));
  return Buffer.concat([length, lengthCrc, Buffer.from(data), dataCrc]);
}

export interface ReadRecords {
  /** The data of each whole record, in order. */
  records: Buffer[];
  /** Bytes after the last whole record (0 for a file that ends on a record boundary). */
  trailingBytes: number;
}

/** Splits a file into records, checking both checksums of each; throws on a record that is damaged. */
export function readRecords(file: Uint8Array): ReadRecords {
  const buffer = Buffer.from(file);
  const records: Buffer[] = [];
  let pos = 0;
  while (pos + 12 <= buffer.length) {
    const lengthBytes = buffer.subarray(pos, pos + 8);
    if (buffer.readUInt32LE(pos + 8) !== maskedCrc(lengthBytes)) throw new Error(`record at offset ${pos}: length checksum does not match`);
    const length = Number(buffer.readBigUInt64LE(pos));
    if (pos + 16 + length > buffer.length) break;
    const data = buffer.subarray(pos + 12, pos + 12 + length);
    if (buffer.readUInt32LE(pos + 12 + length) !== maskedCrc(data)) throw new Error(`record at offset ${pos}: data checksum does not match`);
    records.push(Buffer.from(data));
    pos += 16 + length;
  }
  return { records, trailingBytes: buffer.length - pos };
}
