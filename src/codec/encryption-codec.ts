import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { PayloadKeys } from './payload-keys';

// Encrypts every payload Temporal stores (workflow inputs and results, activity inputs and
// results, heartbeat details, queries, signals, updates, memos, failure messages) with
// AES-256-GCM. The whole payload (its metadata and data) is serialized and sealed; what Temporal
// keeps is a payload that says only `binary/encrypted` and the id of the key. Each payload gets a
// fresh 96-bit nonce; the key id is authenticated too (a payload cannot be made to claim another
// key). Payloads that are not encrypted (histories from before PAYLOAD_KEYS) pass through decode.

export const encryptedEncoding = 'binary/encrypted';
export const keyIdMetadata = 'encryption-key-id';

const nonceBytes = 12;
const tagBytes = 16;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A payload that cannot be decrypted: names the key id, never a key or the payload. */
export class PayloadDecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadDecryptionError';
  }
}

export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly keys: PayloadKeys) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.encrypt(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.decrypt(payload));
  }

  encrypt(payload: Payload): Payload {
    const { id, key } = this.keys.current;
    const nonce = randomBytes(nonceBytes);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    cipher.setAAD(encoder.encode(id));
    const plain = proto.temporal.api.common.v1.Payload.encode(payload).finish();
    const sealed = Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: { encoding: encoder.encode(encryptedEncoding), [keyIdMetadata]: encoder.encode(id) },
      data: new Uint8Array(sealed.buffer, sealed.byteOffset, sealed.byteLength),
    };
  }

  decrypt(payload: Payload): Payload {
    const encoding = payload.metadata?.encoding;
    if (!encoding || decoder.decode(encoding) !== encryptedEncoding) return payload;
    const idBytes = payload.metadata?.[keyIdMetadata];
    const id = idBytes ? decoder.decode(idBytes) : '';
    const key = this.keys.byId.get(id);
    if (!key) throw new PayloadDecryptionError(`a payload is encrypted with the key "${id.slice(0, 64)}", which is not in PAYLOAD_KEYS`);
    const sealed = payload.data ?? new Uint8Array();
    if (sealed.byteLength < nonceBytes + tagBytes) throw new PayloadDecryptionError(`an encrypted payload (key "${id}") is too short to be one`);
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, nonceBytes));
    decipher.setAAD(encoder.encode(id));
    decipher.setAuthTag(sealed.subarray(sealed.byteLength - tagBytes));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(sealed.subarray(nonceBytes, sealed.byteLength - tagBytes)), decipher.final()]);
    } catch {
      throw new PayloadDecryptionError(`an encrypted payload (key "${id}") does not authenticate: it was altered, or sealed with another key of that id`);
    }
    const decoded = proto.temporal.api.common.v1.Payload.decode(plain);
    return { metadata: decoded.metadata ?? {}, data: decoded.data ?? new Uint8Array() };
  }
}
