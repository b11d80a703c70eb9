/**
 * A DataView over all the memory under the byte arrays it is given (index it at the array's byteOffset plus the offset
 * in the array), for hot paths that read or write many 32-bit big-endian words: an optimized `getUint32`/`setUint32`
 * is a handful of instructions where four single-byte accesses to a Buffer cost ~15 each (callgrind,
 * docs/benchmarks.md). Buffers come in runs over the same memory (Buffer.allocUnsafe cuts small ones from one 8 KiB
 * pool; a switch's packet-ins are cut from the socket's read chunk), so the view is made once per run: one per user,
 * since two users' runs interleave. It keeps the last memory it viewed alive until the next.
 */
export class MemoryView {
  private memory: ArrayBufferLike | undefined;
  private view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

  of(bytes: Uint8Array): DataView<ArrayBufferLike> {
    const memory = bytes.buffer;
    if (memory !== this.memory) {
      this.memory = memory;
      this.view = new DataView(memory);
    }
    return this.view;
  }
}
