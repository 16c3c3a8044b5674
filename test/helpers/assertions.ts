import { expect } from 'vitest';
import { IoError } from '../../src/errors.js';
import { MemorySource, type ByteSource } from '../../src/io/byte-source.js';

/** Awaits a promise that must reject with an IoError, and returns the error. */
export async function rejection(p: Promise<unknown>): Promise<IoError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(IoError);
    return e as IoError;
  }
  throw new Error('expected a rejection');
}

export function equalBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.byteLength).toBe(expected.byteLength);
  expect(Buffer.compare(Buffer.from(actual), Buffer.from(expected))).toBe(0);
}

/** Bytes in memory behind a source that fails the test on any read outside them (fuzz tests). */
export class BoundedSource implements ByteSource {
  readonly size: number;
  private readonly inner: MemorySource;
  constructor(
    bytes: Uint8Array,
    readonly name = 'fuzz',
  ) {
    this.inner = new MemorySource(bytes, name);
    this.size = bytes.length;
  }
  read(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.size) throw new Error(`read outside the file: ${offset}+${length} of ${this.size}`);
    return this.inner.read(offset, length);
  }
}

/** Counts the bytes read through it (tests that a reader reads only what it must). */
export class CountingSource implements ByteSource {
  bytesRead = 0;
  constructor(private readonly inner: ByteSource) {}
  get size(): number {
    return this.inner.size;
  }
  get name(): string {
    return this.inner.name;
  }
  read(offset: number, length: number): Promise<Uint8Array> {
    this.bytesRead += length;
    return this.inner.read(offset, length);
  }
}
