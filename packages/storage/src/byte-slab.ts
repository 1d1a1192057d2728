/** BYTE_SLAB_BYTES: the size of each shared buffer; a larger array keeps a buffer of its own. */
export const BYTE_SLAB_BYTES = 1024 * 1024;
const OWN_BUFFER_BYTES = 64 * 1024;

/**
 * ByteSlab copies many small byte arrays into shared buffers of BYTE_SLAB_BYTES, handing back a
 * plain Uint8Array view of each copy: one allocation per megabyte instead of one ArrayBuffer per
 * array. Recovery decodes every log entry above the snapshot at once (a hundred thousand at
 * issue 17's restart), and an ArrayBuffer each was about half a second of it here. A buffer is
 * held while any array in it is: entries are dropped roughly in the order they were decoded, so
 * little more than one buffer is ever held for arrays already gone.
 */
export class ByteSlab {
  private bytes = new Uint8Array(0);
  private used = 0;

  /** copy returns a copy of `source` (a view into one of the slab's buffers for a small one). */
  copy(source: Uint8Array): Uint8Array {
    const length = source.length;
    if (length > OWN_BUFFER_BYTES) return new Uint8Array(source);
    if (this.used + length > this.bytes.length) {
      this.bytes = new Uint8Array(BYTE_SLAB_BYTES);
      this.used = 0;
    }
    this.bytes.set(source, this.used);
    const copy = this.bytes.subarray(this.used, this.used + length);
    this.used += length;
    return copy;
  }
}
