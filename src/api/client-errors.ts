import type { Server } from 'node:http';

// Requests Node's HTTP parser refuses before Express sees them (headers over 16 KB, a malformed
// request line) get the API's error shape too, not a bare status line.

const answers: Record<string, { status: number; reason: string; code: string; message: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, reason: 'Request Header Fields Too Large', code: 'headers_too_large', message: 'the request line and headers take more than 16 KB' },
};
const fallback = { status: 400, reason: 'Bad Request', code: 'bad_request', message: 'the request is not valid HTTP' };

export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    const answer = answers[error.code ?? ''] ?? fallback;
    if (!socket.writable || (error.code === 'ECONNRESET')) {
      socket.destroy();
      return;
    }
    const body = JSON.stringify({ error: { code: answer.code, message: answer.message } });
    socket.end(`HTTP/1.1 ${answer.status} ${answer.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
}
