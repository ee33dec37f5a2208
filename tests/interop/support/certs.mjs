// A throwaway certificate authority for TLS tests, made with Debian's openssl command
// line: a CA, a server certificate for localhost and 127.0.0.1, and a client certificate.
// Files are world-readable, since Mosquitto started as root reads them as its own user.

import { execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { scratchDir } from './scratch.mjs';

function openssl(dir, args, input) {
  return execFileSync('openssl', args, { cwd: dir, input, stdio: ['pipe', 'pipe', 'pipe'] });
}

function signed(dir, name, subject, extensions) {
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  writeFileSync(path.join(dir, `${name}.ext`), extensions);
  openssl(dir, [
    'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`,
  ]);
}

/** Makes the CA and certificates; returns their paths and the server key's SPKI hash
 *  (base64 SHA-256), which Chromium's --ignore-certificate-errors-spki-list takes. */
export function makeCertificates() {
  const dir = scratchDir('tabmq-tls-');
  chmodSync(dir, 0o755);
  openssl(dir, [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt',
    '-days', '2', '-subj', '/CN=tabmq test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  signed(dir, 'server', '/CN=localhost',
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n');
  signed(dir, 'client', '/O=tabmq tests/CN=sensor-7',
    'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n');
  for (const f of ['ca.crt', 'ca.key', 'server.crt', 'server.key', 'client.crt', 'client.key']) {
    chmodSync(path.join(dir, f), 0o644);
  }
  const pub = openssl(dir, ['x509', '-in', 'server.crt', '-pubkey', '-noout']);
  const der = openssl(dir, ['pkey', '-pubin', '-outform', 'der'], pub);
  const spki = openssl(dir, ['dgst', '-sha256', '-binary'], der).toString('base64');
  const at = (f) => path.join(dir, f);
  return {
    dir,
    ca: at('ca.crt'),
    serverCert: at('server.crt'),
    serverKey: at('server.key'),
    clientCert: at('client.crt'),
    clientKey: at('client.key'),
    spki,
  };
}
