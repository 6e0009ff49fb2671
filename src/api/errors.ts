import type { ErrorRequestHandler, RequestHandler } from 'express';

// Every error response is {"error": {"code", "message"}}. Bad input is a 4xx, never a 5xx.

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Sent with the error (WWW-Authenticate, Retry-After). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const notFoundHandler: RequestHandler = (request, _response, next) => {
  next(new HttpError(404, 'not_found', `no route for ${request.method} ${request.path}`));
};

interface BodyParserError extends Error {
  type?: string;
  status?: number;
  limit?: number;
}

export function errorHandler(log: (message: string, error: unknown) => void): ErrorRequestHandler {
  return (error: unknown, _request, response, _next) => {
    let status = 500;
    let code = 'internal_error';
    let message = 'internal error';
    const parserError = error as BodyParserError;
    if (error instanceof HttpError) {
      ({ status, code, message } = error);
    } else if (parserError?.type === 'entity.parse.failed') {
      [status, code, message] = [400, 'invalid_json', `request body is not valid JSON: ${parserError.message}`];
    } else if (parserError?.type === 'entity.too.large') {
      [status, code, message] = [413, 'payload_too_large', `request body is larger than ${parserError.limit} bytes`];
    } else if (typeof parserError?.status === 'number' && parserError.status >= 400 && parserError.status < 500) {
      [status, code, message] = [parserError.status, parserError.type?.replace(/\W+/g, '_') ?? 'bad_request', parserError.message];
    } else {
      log('request failed', error);
    }
    if (response.headersSent) {
      response.end();
      return;
    }
    if (error instanceof HttpError) for (const [name, value] of Object.entries(error.headers)) response.setHeader(name, value);
    response.status(status).json({ error: { code, message } });
  };
}
