// The body of one HTTP/1.1 response read off a raw socket: the head is skipped (its status kept)
// and chunked transfer coding is undone, for clients that must control every read themselves.

type State = 'head' | 'size' | 'data' | 'crlf' | 'done';

export class ResponseBody {
  status?: number;
  private state: State = 'head';
  private pending: Buffer = Buffer.alloc(0);
  private left = 0;

  get finished(): boolean {
    return this.state === 'done';
  }

  /** Takes the socket's next bytes; returns the body bytes they complete. */
  push(bytes: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? bytes : Buffer.concat([this.pending, bytes]);
    const out: Buffer[] = [];
    for (;;) {
      if (this.state === 'head') {
        const end = this.pending.indexOf('\r\n\r\n');
        if (end < 0) break;
        const head = this.pending.subarray(0, end).toString('latin1');
        this.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
        if (!/^transfer-encoding: *chunked/im.test(head)) throw new Error(`not a chunked response: ${head}`);
        this.pending = this.pending.subarray(end + 4);
        this.state = 'size';
      } else if (this.state === 'size') {
        const end = this.pending.indexOf('\r\n');
        if (end < 0) break;
        this.left = parseInt(this.pending.subarray(0, end).toString('latin1'), 16);
        this.pending = this.pending.subarray(end + 2);
        this.state = this.left === 0 ? 'done' : 'data';
      } else if (this.state === 'data') {
        if (this.pending.length === 0) break;
        const piece = this.pending.subarray(0, this.left);
        out.push(piece);
        this.left -= piece.length;
        this.pending = this.pending.subarray(piece.length);
        if (this.left === 0) this.state = 'crlf';
      } else if (this.state === 'crlf') {
        if (this.pending.length < 2) break;
        this.pending = this.pending.subarray(2);
        this.state = 'size';
      } else break;
    }
    return out;
  }
}
