/**
 * Starts the whole program (real SQLite file in a temporary directory, real
 * gRPC and REST listeners on loopback ports) and a gRPC client for it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApp, type App, type AppDeps } from "../../src/app.ts";
import { defaultConfig, type Config } from "../../src/config/config.ts";
import { Results } from "../../src/gen/api_pb.ts";
import { makeClient, type Client } from "./grpc-client.ts";

export interface TestServer {
  app: App;
  client: Client<typeof Results>;
  dir: string;
  dbPath: string;
  address: string;
  /** Base URL of the REST listener, e.g. "http://127.0.0.1:41234". */
  http: string;
  /** Stops server and client; removes the directory unless `keep`. */
  close(opts?: { keep?: boolean }): Promise<void>;
}

export function tempDir(prefix = "hindsight-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startTestServer(opts: { dir?: string; config?: Partial<Config>; deps?: AppDeps } = {}): Promise<TestServer> {
  const dir = opts.dir ?? tempDir();
  const dbPath = join(dir, "hindsight.db");
  const app = await startApp({ ...defaultConfig, db: dbPath, grpcListen: "127.0.0.1:0", httpListen: "127.0.0.1:0", ...opts.config }, opts.deps);
  const address = `127.0.0.1:${app.grpcPort}`;
  const client = makeClient(Results, address);
  return {
    app,
    client,
    dir,
    dbPath,
    address,
    http: `http://127.0.0.1:${app.httpPort}`,
    async close(o = {}) {
      client.close();
      await app.stop(2000);
      if (!o.keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}
