// Issue 8: TLS on both listeners from PEM files, with a chain made in the test:
// minimum TLS 1.2, clear start-up errors, client certificates, and rotation
// (file change or SIGHUP's reloadTls) while a client keeps calling.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { X509Certificate } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "node:tls";
import { startApp } from "../src/app.ts";
import { ConfigError, defaultConfig } from "../src/config/config.ts";
import { Results } from "../src/gen/api_pb.ts";
import { makeTestPki, type TestPki } from "./support/certs.ts";
import { makeClient } from "./support/grpc-client.ts";
import { startTestServer, tempDir, type TestServer } from "./support/server.ts";

const pki1 = makeTestPki({ caName: "test-ca-1" });
const pki2 = makeTestPki({ caName: "test-ca-2" });
const bothCas = pki1.ca.cert + pki2.ca.cert;

/** The fingerprint of the certificate a new TLS connection to `port` is shown; or the error. */
function peer(port: number, opts: { maxVersion?: "TLSv1.1"; cert?: string; key?: string } = {}): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect({ host: "127.0.0.1", port, ca: bothCas, servername: "localhost", ALPNProtocols: ["h2", "http/1.1"], ...opts }, () => {
      const fp = sock.getPeerX509Certificate()?.fingerprint256 ?? "none";
      sock.end();
      resolve(fp);
    });
    sock.on("error", (e) => resolve(`error: ${e.message}`));
  });
}
const fp = (p: TestPki) => new X509Certificate(p.server.cert).fingerprint256;

function writeTls(dir: string, p: TestPki) {
  writeFileSync(join(dir, "tls.crt"), p.server.cert);
  writeFileSync(join(dir, "tls.key"), p.server.key);
}

describe("TLS on both listeners", () => {
  let s: TestServer;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir();
    writeTls(dir, pki1);
    s = await startTestServer({ dir, config: { tlsCert: join(dir, "tls.crt"), tlsKey: join(dir, "tls.key") }, deps: { tlsCheckEveryMs: 100 } });
  });
  afterAll(() => s.close());

  const tlsClient = () => makeClient(Results, `localhost:${s.app.grpcPort}`, {}, grpc.credentials.createSsl(Buffer.from(bothCas)));
  const rest = (path: string) => fetch(`https://localhost:${s.app.httpPort}${path}`, { tls: { ca: bothCas } } as RequestInit);

  test("gRPC and REST answer over TLS; plaintext and TLS 1.1 are refused", async () => {
    const c = tlsClient();
    await c.createResult({ parent: "tls", result: { name: "tls/results/a" } });
    expect((await c.getResult({ name: "tls/results/a" })).name).toBe("tls/results/a");
    c.close();
    expect((await rest("/apis/results.tekton.dev/v1alpha2/parents/tls/results/a")).status).toBe(200);
    const plain = await s.client.getResult({ name: "tls/results/a" }, { deadlineMs: 2000 }).then(
      () => "ok",
      (e: grpc.ServiceError) => e.code,
    );
    expect(plain).not.toBe("ok");
    expect(await fetch(`http://127.0.0.1:${s.app.httpPort}/healthz`).then(() => "ok", () => "refused")).toBe("refused");
    for (const port of [s.app.grpcPort, s.app.httpPort]) {
      expect(await peer(port)).toBe(fp(pki1));
      expect(await peer(port, { maxVersion: "TLSv1.1" })).toStartWith("error:");
    }
  });

  test("a rotated certificate is served to new connections while a client keeps calling, without a failed call", async () => {
    const c = tlsClient();
    let calls = 0;
    const failures: string[] = [];
    let running = true;
    const loop = (async () => {
      while (running) {
        try {
          await c.getResult({ name: "tls/results/a" });
          const r = await rest("/apis/results.tekton.dev/v1alpha2/parents/tls/results/a");
          if (r.status !== 200) failures.push(`rest ${r.status}`);
          await r.arrayBuffer();
          calls++;
        } catch (e) {
          failures.push(String(e));
        }
      }
    })();
    await Bun.sleep(150);
    writeTls(dir, pki2); // picked up by the file check (every 100 ms here)
    const deadline = Date.now() + 5000;
    while ((await peer(s.app.grpcPort)) !== fp(pki2) && Date.now() < deadline) await Bun.sleep(50);
    await Bun.sleep(200);
    running = false;
    await loop;
    c.close();
    expect(failures).toEqual([]);
    expect(calls).toBeGreaterThan(5);
    expect(await peer(s.app.grpcPort)).toBe(fp(pki2));
    expect(await peer(s.app.httpPort)).toBe(fp(pki2));

    // Back to the first, through reloadTls (what SIGHUP calls).
    writeTls(dir, pki1);
    s.app.reloadTls();
    expect(await peer(s.app.grpcPort)).toBe(fp(pki1));
    expect(await peer(s.app.httpPort)).toBe(fp(pki1));
  });

  test("a broken rotation (key of another certificate) keeps the last good certificate", async () => {
    writeFileSync(join(dir, "tls.crt"), pki2.server.cert);
    writeFileSync(join(dir, "tls.key"), pki1.server.key);
    expect(s.app.reloadTls()).toBe(false);
    expect(await peer(s.app.httpPort)).toBe(fp(pki1));
    expect(await peer(s.app.grpcPort)).toBe(fp(pki1));
    writeTls(dir, pki1);
  });
});

describe("client certificates (--tls-client-ca)", () => {
  let s: TestServer;
  beforeAll(async () => {
    const dir = tempDir();
    writeTls(dir, pki1);
    writeFileSync(join(dir, "ca.crt"), pki1.ca.cert);
    s = await startTestServer({ dir, config: { tlsCert: join(dir, "tls.crt"), tlsKey: join(dir, "tls.key"), tlsClientCa: join(dir, "ca.crt") } });
  });
  afterAll(() => s.close());

  test("without a trusted client certificate the handshake fails; with one, calls go through", async () => {
    const call = (creds: grpc.ChannelCredentials) => {
      const c = makeClient(Results, `localhost:${s.app.grpcPort}`, {}, creds);
      return c
        .listResults({ parent: "-" }, { deadlineMs: 3000 })
        .then(() => "ok", (e: grpc.ServiceError) => e.code)
        .finally(() => c.close());
    };
    expect(await call(grpc.credentials.createSsl(Buffer.from(bothCas)))).not.toBe("ok");
    expect(await call(grpc.credentials.createSsl(Buffer.from(bothCas), Buffer.from(pki2.client.key), Buffer.from(pki2.client.cert)))).not.toBe("ok");
    expect(await call(grpc.credentials.createSsl(Buffer.from(bothCas), Buffer.from(pki1.client.key), Buffer.from(pki1.client.cert)))).toBe("ok");
    const url = `https://localhost:${s.app.httpPort}/apis/results.tekton.dev/v1alpha2/parents/-/results`;
    expect(await fetch(url, { tls: { ca: bothCas } } as RequestInit).then((r) => r.status, () => "refused")).toBe("refused");
    expect(await fetch(url, { tls: { ca: bothCas, cert: pki1.client.cert, key: pki1.client.key } } as RequestInit).then((r) => r.status)).toBe(200);
  });
});

describe("start-up errors", () => {
  const dir = tempDir();
  writeTls(dir, pki1);
  writeFileSync(join(dir, "other.key"), pki2.server.key);
  writeFileSync(join(dir, "junk.crt"), "not a certificate\n");
  const start = (tlsCert: string, tlsKey: string) =>
    startApp({ ...defaultConfig, db: join(dir, "h.db"), grpcListen: "127.0.0.1:0", httpListen: "127.0.0.1:0", tlsCert, tlsKey }).then(
      async (app) => {
        await app.stop(0);
        return "started";
      },
      (e: Error) => `${e instanceof ConfigError ? "ConfigError" : e.name}: ${e.message}`,
    );
  test("unreadable, unparsable and mismatched files name the file and stop the start", async () => {
    expect(await start(join(dir, "missing.crt"), join(dir, "tls.key"))).toBe(`ConfigError: cannot read the TLS certificate (--tls-cert) ${join(dir, "missing.crt")}: ENOENT`);
    expect(await start(join(dir, "junk.crt"), join(dir, "tls.key"))).toBe(`ConfigError: ${join(dir, "junk.crt")} (--tls-cert) is not a PEM certificate`);
    expect(await start(join(dir, "tls.crt"), join(dir, "other.key"))).toBe(
      `ConfigError: ${join(dir, "other.key")} (--tls-key) is not the key of the certificate in ${join(dir, "tls.crt")} (--tls-cert)`,
    );
    expect(await start(join(dir, "tls.crt"), join(dir, "tls.key"))).toBe("started");
  });
});
