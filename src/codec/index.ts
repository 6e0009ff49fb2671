import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { EncryptionCodec } from './encryption-codec';
import type { PayloadKeys } from './payload-keys';

export { EncryptionCodec, PayloadDecryptionError, encryptedEncoding } from './encryption-codec';
export { parsePayloadKeys, PayloadKeysError, type PayloadKeys } from './payload-keys';

/** Module with the failure converter that moves messages into encrypted attributes. */
export const failureConverterPath = fileURLToPath(new URL('./failure-converter.ts', import.meta.url));

/**
 * The data converter every Client and Worker of a deployment shares: with PAYLOAD_KEYS, payloads
 * and failure messages are encrypted; without, Temporal's defaults (undefined).
 */
export function temporalDataConverter(keys: PayloadKeys | undefined): DataConverter | undefined {
  if (!keys) return undefined;
  return { payloadCodecs: [new EncryptionCodec(keys)], failureConverterPath };
}

/** What the API's codec endpoint (/codec/encode, /codec/decode) serves, and to which browser origins. */
export interface CodecSettings {
  codec: EncryptionCodec;
  /** The Temporal Web UI's origins: the UI calls the endpoint from the browser (CORS). */
  uiOrigins: string[];
}

/** Undefined without PAYLOAD_KEYS: nothing is encrypted, the endpoint answers 404. */
export function codecSettings(config: { payloadKeys?: PayloadKeys }, uiUrl: string): CodecSettings | undefined {
  if (!config.payloadKeys) return undefined;
  return { codec: new EncryptionCodec(config.payloadKeys), uiOrigins: uiOrigins(uiUrl) };
}

/** The UI's origin; a loopback UI is reached as localhost or 127.0.0.1, and both are allowed. */
function uiOrigins(uiUrl: string): string[] {
  const url = new URL(uiUrl);
  const origins = [url.origin];
  const other = url.hostname === 'localhost' ? '127.0.0.1' : url.hostname === '127.0.0.1' ? 'localhost' : undefined;
  if (other) origins.push(`${url.protocol}//${other}${url.port ? `:${url.port}` : ''}`);
  return origins;
}
