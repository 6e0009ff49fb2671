import cors from 'cors';
import express, { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import type { Payload } from '@temporalio/common';
import { PayloadDecryptionError, type CodecSettings } from '../codec';
import type { ApiKeys } from './auth/api-keys';
import { authenticate, requireScope } from './auth/authenticate';
import type { StreamTokens } from './auth/stream-tokens';
import { HttpError } from './errors';

// Temporal's remote codec protocol (the Web UI and `temporal workflow show --codec-endpoint`):
// POST /codec/encode and /codec/decode take and return {"payloads": [{"metadata": {name: base64},
// "data": base64}]}, the proto3 JSON form of Payloads. Decoding shows plaintext, so the endpoint
// needs a key with the `codec` scope (an operator's scope: a key that has it decodes any tenant's
// payloads it can get from Temporal); with no keys configured it is open like the rest of the API,
// on loopback. The browser calls it from the UI's origin (CORS, credentials allowed).

const base64 = z.string().max(64 * 1024 * 1024).regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'not base64');
export const payloadsBody = z.object({
  payloads: z
    .array(z.object({ metadata: z.record(z.string().max(256), base64).optional(), data: base64.optional() }))
    .max(10_000),
});

type JsonPayload = { metadata?: Record<string, string>; data?: string };

const toPayload = (json: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(json.metadata ?? {}).map(([name, value]) => [name, Buffer.from(value, 'base64')])),
  data: Buffer.from(json.data ?? '', 'base64'),
});

const toJson = (payload: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([name, value]) => [name, Buffer.from(value ?? new Uint8Array()).toString('base64')])),
  data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
});

export interface CodecRouterOptions {
  settings?: CodecSettings;
  keys?: ApiKeys;
  open: boolean;
  tokens: StreamTokens;
  corsOrigins: string[];
}

export function codecRouter(options: CodecRouterOptions): Router {
  const router = Router();
  router.use(
    cors({
      origin: [...new Set([...options.corsOrigins, ...(options.settings?.uiOrigins ?? [])])],
      methods: ['POST'],
      allowedHeaders: ['Authorization', 'Content-Type', 'X-Namespace'],
      credentials: true,
      maxAge: 600,
    }),
  );
  const handle = (operation: 'encode' | 'decode'): RequestHandler => async (request, response, next) => {
    try {
      const settings = options.settings;
      if (!settings) throw new HttpError(404, 'codec_not_configured', 'payloads are not encrypted here (PAYLOAD_KEYS is not set): there is nothing to decode');
      if (!request.is('application/json')) throw new HttpError(415, 'unsupported_media_type', 'send {"payloads": [...]} with Content-Type: application/json');
      const parsed = payloadsBody.safeParse(request.body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new HttpError(400, 'invalid_payloads', `${issue.path.join('.') || 'body'}: ${issue.message}; expected {"payloads": [{"metadata": {name: base64}, "data": base64}]}`);
      }
      const payloads = parsed.data.payloads.map(toPayload);
      const result = operation === 'encode' ? await settings.codec.encode(payloads) : await settings.codec.decode(payloads);
      response.json({ payloads: result.map(toJson) });
    } catch (error) {
      if (error instanceof PayloadDecryptionError) return next(new HttpError(400, 'payload_not_decryptable', error.message));
      next(error);
    }
  };
  const who = authenticate({ keys: options.keys, tokens: options.tokens, open: options.open });
  const body = express.json({ limit: '16mb' });
  router.post('/encode', who, requireScope('codec'), body, handle('encode'));
  router.post('/decode', who, requireScope('codec'), body, handle('decode'));
  return router;
}
