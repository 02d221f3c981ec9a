import { crc32 } from 'node:zlib';
import { ByteBuilder } from './byte-builder.js';
import { crc32Hex } from './checksum.js';

/*
 * The staged form of a workflow's items: one per line as `<crc32> <json>`, the CRC naming a line
 * that changed. Staging threads encode blocks of them (StagedLines); a backend keeps them as they
 * are (the embedded one, in workflows/pending/<id>.jsonl) or decodes them.
 */
/** A staged line: `<crc32> <json>\n`. */
export function encodeStagedLine(json: string): string {
  return `${crc32Hex(json)} ${json}\n`;
}

/** Staged lines (encodeStagedLine's), encoded once into one Buffer, each CRC taken over its bytes. */
export class StagedLines extends ByteBuilder {
  count = 0;

  add(json: string): void {
    const at = this.begin();
    this.putText(json);
    this.end(at);
  }

  /** Starts a line whose JSON the caller then puts (putBytes, putText); end() seals it. */
  begin(): number {
    const at = this.length;
    this.reserve(9);
    this.length += 9;
    return at;
  }

  end(at: number): void {
    this.putHex8(crc32(this.buf.subarray(at + 9, this.length)), at);
    this.buf[at + 8] = 32;
    this.putByte(10);
    this.count += 1;
  }
}

