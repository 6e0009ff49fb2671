import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';

// A throwaway CA with a server certificate (localhost and 127.0.0.1) and a client certificate, made
// with openssl, for tests of TLS and mTLS. Extensions are the ones rustls (the worker's connection)
// insists on: a CA marked as one, subject alternative names, and the key usage of each side.

export interface Certificates {
  /** PEM files. */
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

const openssl = (directory: string, ...args: string[]) => execFileSync('openssl', args, { cwd: directory, stdio: ['ignore', 'ignore', 'pipe'] });

export function makeCertificates(directory: string): Certificates {
  writeFileSync(join(directory, 'openssl.cnf'), '[req]\ndistinguished_name = dn\n[dn]\n[ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n');
  const key = (name: string) => openssl(directory, 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`);
  key('ca');
  openssl(directory, 'req', '-new', '-x509', '-config', 'openssl.cnf', '-extensions', 'ca', '-key', 'ca.key', '-subj', '/CN=durable-agents test CA', '-days', '2', '-out', 'ca.pem');
  const leaf = (name: string, commonName: string, extensions: string) => {
    key(name);
    openssl(directory, 'req', '-new', '-config', 'openssl.cnf', '-key', `${name}.key`, '-subj', `/CN=${commonName}`, '-out', `${name}.csr`);
    writeFileSync(join(directory, `${name}.ext`), `basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n${extensions}\nauthorityKeyIdentifier = keyid\nsubjectKeyIdentifier = hash\n`);
    const serial = `0x${randomBytes(8).toString('hex')}`;
    openssl(directory, 'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', serial, '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
  };
  leaf('server', 'localhost', 'extendedKeyUsage = serverAuth\nsubjectAltName = DNS:localhost,IP:127.0.0.1');
  leaf('client', 'durable-agents test worker', 'extendedKeyUsage = clientAuth');
  const path = (file: string) => join(directory, file);
  return {
    caCert: path('ca.pem'),
    serverCert: path('server.pem'),
    serverKey: path('server.key'),
    clientCert: path('client.pem'),
    clientKey: path('client.key'),
  };
}
