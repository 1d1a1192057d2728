import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** TestPki: real certificates, made with Debian's openssl for one test file. PEM text throughout. */
export interface TestPki {
  dir: string;
  /** ca signs the server and client certificates; otherCa signs nothing these tests trust. */
  ca: { cert: string; certFile: string };
  otherCa: { cert: string; certFile: string };
  /** server: CN=zabkit-server, SAN DNS:localhost and IP:127.0.0.1, signed by ca. */
  server: { cert: string; key: string; certFile: string; keyFile: string };
  /** client: CN=client-1,O=zabkit-tests, signed by ca. */
  client: { cert: string; key: string };
  /** strangerClient: CN=stranger, signed by otherCa. */
  strangerClient: { cert: string; key: string };
  /** renewedServer: another certificate for the same names, signed by ca (for reload tests). */
  renewedServer: { cert: string; key: string };
  /**
   * member makes the peer certificate of member `id` (CN zabkit-member-<id>, serverAuth and
   * clientAuth), signed by ca, or by otherCa with `{ stranger: true }`.
   */
  member(
    id: number,
    options?: { stranger?: boolean },
  ): { cert: string; key: string; certFile: string; keyFile: string };
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string): void {
  openssl(
    dir,
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
      .concat(['-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`])
      .concat(['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']),
  );
}

function makeLeaf(dir: string, name: string, ca: string, subject: string, extensions: string): void {
  openssl(
    dir,
    ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'].concat([
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      subject,
    ]),
  );
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(
    dir,
    ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`].concat([
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    ]),
  );
}

/** makeTestPki writes a CA, a server certificate, client certificates and a stranger CA into a temp dir. */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'zabkit-pki-'));
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  const serverExt = 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n';
  makeLeaf(dir, 'server', 'ca', '/CN=zabkit-server', serverExt);
  makeLeaf(dir, 'server2', 'ca', '/CN=zabkit-server-renewed', serverExt);
  makeLeaf(dir, 'client', 'ca', '/O=zabkit-tests/CN=client-1', 'extendedKeyUsage=clientAuth\n');
  makeLeaf(dir, 'stranger', 'other-ca', '/CN=stranger', 'extendedKeyUsage=clientAuth\n');
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  return {
    dir,
    ca: { cert: read('ca.pem'), certFile: join(dir, 'ca.pem') },
    otherCa: { cert: read('other-ca.pem'), certFile: join(dir, 'other-ca.pem') },
    server: {
      cert: read('server.pem'),
      key: read('server.key'),
      certFile: join(dir, 'server.pem'),
      keyFile: join(dir, 'server.key'),
    },
    client: { cert: read('client.pem'), key: read('client.key') },
    strangerClient: { cert: read('stranger.pem'), key: read('stranger.key') },
    renewedServer: { cert: read('server2.pem'), key: read('server2.key') },
    member(id, options = {}) {
      const name = `${options.stranger ? 'stranger-' : ''}member-${id}`;
      makeLeaf(
        dir,
        name,
        options.stranger ? 'other-ca' : 'ca',
        `/CN=zabkit-member-${id}`,
        'extendedKeyUsage=serverAuth,clientAuth\n',
      );
      return {
        cert: read(`${name}.pem`),
        key: read(`${name}.key`),
        certFile: join(dir, `${name}.pem`),
        keyFile: join(dir, `${name}.key`),
      };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
