import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeTestPki } from "../../test/support/certs.ts";
import { loadTls, TlsFileError } from "./files.ts";
import { TlsReloader } from "./reloader.ts";

const dir = mkdtempSync(join(tmpdir(), "hindsight-tls-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const a = makeTestPki({ caName: "a" });
const b = makeTestPki({ caName: "b" });
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

test("a matching pair loads; the digest follows the content", () => {
  const m = loadTls({ cert: file("a.crt", a.server.cert), key: file("a.key", a.server.key), clientCa: null });
  expect(m.cert).toBe(a.server.cert);
  const m2 = loadTls({ cert: file("b.crt", b.server.cert), key: file("b.key", b.server.key), clientCa: file("ca.crt", b.ca.cert) });
  expect(m2.digest).not.toBe(m.digest);
});

test("each kind of bad file is named", () => {
  expect(() => loadTls({ cert: join(dir, "none.crt"), key: join(dir, "a.key"), clientCa: null })).toThrow(TlsFileError);
  expect(() => loadTls({ cert: file("x.crt", "junk"), key: join(dir, "a.key"), clientCa: null })).toThrow(/x\.crt \(--tls-cert\) is not a PEM certificate/);
  expect(() => loadTls({ cert: join(dir, "a.crt"), key: file("x.key", "junk"), clientCa: null })).toThrow(/x\.key \(--tls-key\) is not a PEM private key/);
  expect(() => loadTls({ cert: join(dir, "a.crt"), key: join(dir, "b.key"), clientCa: null })).toThrow(/b\.key \(--tls-key\) is not the key of the certificate/);
  expect(() => loadTls({ cert: join(dir, "a.crt"), key: join(dir, "a.key"), clientCa: file("bad-ca.crt", "junk") })).toThrow(/--tls-client-ca/);
});

test("the reloader tells its listeners only about a good, changed pair", () => {
  const cert = file("r.crt", a.server.cert);
  const key = file("r.key", a.server.key);
  const r = new TlsReloader({ cert, key, clientCa: null }, 0);
  const seen: string[] = [];
  r.addIdentityCertificateListener((u) => seen.push(u!.certificate.toString()));
  expect(seen).toEqual([a.server.cert]);
  expect(r.reload()).toBe(false); // unchanged
  writeFileSync(cert, b.server.cert); // key not yet rotated: refused
  expect(r.reload()).toBe(false);
  writeFileSync(key, b.server.key);
  expect(r.reload()).toBe(true);
  expect(seen).toEqual([a.server.cert, b.server.cert]);
  r.close();
});
