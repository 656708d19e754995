const SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");

/**
 * Rows in PostgreSQL's binary COPY format, for the bulk load of logged values: the server reads numbers
 * and JSON as they are instead of parsing text, which is most of the cost of a CSV COPY. Each row starts
 * with `row(fields)`, then one call per field, in column order.
 */
export class BinaryRows {
  private buffer: Buffer;
  private at = 0;
  count = 0;

  constructor(capacity = 1 << 20) {
    this.buffer = Buffer.allocUnsafe(Math.max(capacity, 64));
    this.at = SIGNATURE.copy(this.buffer, 0);
    this.at = this.buffer.writeInt32BE(0, this.at); // flags
    this.at = this.buffer.writeInt32BE(0, this.at); // header extension length
  }

  row(fields: number): void {
    this.ensure(2);
    this.at = this.buffer.writeInt16BE(fields, this.at);
    this.count++;
  }

  int4(value: number | null): void {
    if (value === null) {
      this.null();
      return;
    }
    this.ensure(8);
    this.at = this.buffer.writeInt32BE(4, this.at);
    this.at = this.buffer.writeInt32BE(value, this.at);
  }

  /** NaN and ±Infinity included, as IEEE 754 doubles are. */
  float8(value: number | null): void {
    if (value === null) {
      this.null();
      return;
    }
    this.ensure(12);
    this.at = this.buffer.writeInt32BE(8, this.at);
    this.at = this.buffer.writeDoubleBE(value, this.at);
  }

  bool(value: boolean | null): void {
    if (value === null) {
      this.null();
      return;
    }
    this.ensure(5);
    this.at = this.buffer.writeInt32BE(1, this.at);
    this.buffer[this.at++] = value ? 1 : 0;
  }

  /** JSON text as a jsonb field (its binary form is a version byte and the text). */
  jsonb(json: string | null): void {
    if (json === null) {
      this.null();
      return;
    }
    const length = Buffer.byteLength(json);
    this.ensure(5 + length);
    this.at = this.buffer.writeInt32BE(length + 1, this.at);
    this.buffer[this.at++] = 1;
    this.at += this.buffer.write(json, this.at);
  }

  null(): void {
    this.ensure(4);
    this.at = this.buffer.writeInt32BE(-1, this.at);
  }

  /** The whole COPY data, trailer included; the rows can no longer be added to. */
  finish(): Buffer {
    this.ensure(2);
    this.at = this.buffer.writeInt16BE(-1, this.at);
    return this.buffer.subarray(0, this.at);
  }

  private ensure(bytes: number): void {
    if (this.at + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.at + bytes));
    this.buffer.copy(grown, 0, 0, this.at);
    this.buffer = grown;
  }
}
