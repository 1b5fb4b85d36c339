/**
 * The PEM files both listeners serve TLS from, read and checked together:
 * a certificate that does not parse, a key that does not parse or a key that
 * does not belong to the certificate is reported naming the file, at start
 * (the start fails) and on reload (the old files stay in use).
 */
import { createHash, createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";

export interface TlsFiles {
  cert: string;
  key: string;
  /** CA bundle client certificates must chain to; absent: no client certificates asked for. */
  clientCa: string | null;
}

export interface TlsMaterial {
  /** PEM certificate chain (leaf first). */
  cert: string;
  key: string;
  clientCa: string | null;
  /** SHA-256 of the three, to notice a change. */
  digest: string;
}

export class TlsFileError extends Error {}

function read(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new TlsFileError(`cannot read the TLS ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Reads and checks the files; throws TlsFileError with an operator-facing message. */
export function loadTls(files: TlsFiles): TlsMaterial {
  const cert = read(files.cert, "certificate (--tls-cert)");
  const key = read(files.key, "key (--tls-key)");
  const clientCa = files.clientCa === null ? null : read(files.clientCa, "client CA (--tls-client-ca)");
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new TlsFileError(`${files.cert} (--tls-cert) is not a PEM certificate`);
  }
  let pk;
  try {
    pk = createPrivateKey(key);
  } catch {
    throw new TlsFileError(`${files.key} (--tls-key) is not a PEM private key (encrypted keys are not supported)`);
  }
  if (!x509.checkPrivateKey(pk)) throw new TlsFileError(`${files.key} (--tls-key) is not the key of the certificate in ${files.cert} (--tls-cert)`);
  if (clientCa !== null) {
    try {
      new X509Certificate(clientCa);
    } catch {
      throw new TlsFileError(`${files.clientCa} (--tls-client-ca) is not a PEM certificate`);
    }
  }
  const digest = createHash("sha256").update(cert).update("\0").update(key).update("\0").update(clientCa ?? "").digest("hex");
  return { cert, key, clientCa, digest };
}
