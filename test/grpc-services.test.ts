// The gRPC surface around the Results API: health, reflection, the wire
// contract as reflection publishes it, and malformed requests.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { create, createFileRegistry, fromBinary, getOption } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { http } from "../src/gen/google/api/annotations_pb.ts";
import { clientDefinition } from "../src/api/grpc/adapter.ts";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "../src/gen/grpc/health/v1/health_pb.ts";
import * as refl from "../src/gen/grpc/reflection/v1/reflection_pb.ts";
import * as reflAlpha from "../src/gen/grpc/reflection/v1alpha/reflection_pb.ts";
import { Code, grpcError, makeClient } from "./support/grpc-client.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

describe("grpc.health.v1.Health", () => {
  test("Check: overall and Results are SERVING; unknown service is NOT_FOUND", async () => {
    const h = makeClient(Health, s.address);
    expect((await h.check({ service: "" })).status).toBe(Serving.SERVING);
    expect((await h.check({ service: "tekton.results.v1alpha2.Results" })).status).toBe(Serving.SERVING);
    expect((await grpcError(h.check({ service: "nope" }))).code).toBe(Code.NOT_FOUND);
    h.close();
  });

  test("Watch streams the current status and NOT_SERVING at shutdown, then ends", async () => {
    const t = await startTestServer();
    const Ctor = grpc.makeGenericClientConstructor(clientDefinition(Health), "Health");
    const c = new Ctor(t.address, grpc.credentials.createInsecure());
    const seen: number[] = [];
    const ended = new Promise<void>((resolve) => {
      const call = (c as unknown as { watch: Function }).watch({ service: "" });
      call.on("data", (m: { status: number }) => seen.push(m.status));
      call.on("end", resolve);
      call.on("error", () => resolve());
    });
    while (seen.length === 0) await Bun.sleep(10);
    await t.close();
    await ended;
    c.close();
    expect(seen[0]).toBe(Serving.SERVING);
    expect(seen).toContain(Serving.NOT_SERVING);
  });
});

/** One request/response over a reflection stream. */
function reflect(api: typeof refl | typeof reflAlpha, req: Record<string, unknown>): Promise<refl.ServerReflectionResponse> {
  const Ctor = grpc.makeGenericClientConstructor(clientDefinition(api.ServerReflection), "R");
  const c = new Ctor(s.address, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const call = (c as unknown as { serverReflectionInfo: Function }).serverReflectionInfo();
    call.on("data", (m: refl.ServerReflectionResponse) => {
      resolve(m);
      call.end();
      c.close();
    });
    call.on("error", reject);
    call.write(create(api.ServerReflectionRequestSchema as typeof refl.ServerReflectionRequestSchema, req));
  });
}

function files(res: refl.ServerReflectionResponse): FileDescriptorProto[] {
  if (res.messageResponse.case !== "fileDescriptorResponse") throw new Error(`unexpected ${res.messageResponse.case}`);
  return res.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
}

describe("server reflection", () => {
  for (const [label, api] of [["v1", refl], ["v1alpha", reflAlpha]] as const) {
    test(`${label}: list_services names the Results service, health and reflection`, async () => {
      const res = await reflect(api, { messageRequest: { case: "listServices", value: "" } });
      expect(res.messageResponse.case).toBe("listServicesResponse");
      const names = (res.messageResponse.value as refl.ListServiceResponse).service.map((x) => x.name);
      expect(names).toContain("tekton.results.v1alpha2.Results");
      expect(names).toContain("grpc.health.v1.Health");
      expect(names).toContain("grpc.reflection.v1.ServerReflection");
    });
  }

  test("file_containing_symbol returns api.proto with its imports, upstream's file names", async () => {
    const fs = files(await reflect(refl, { messageRequest: { case: "fileContainingSymbol", value: "tekton.results.v1alpha2.Results" } }));
    const names = fs.map((f) => f.name);
    expect(names[0]).toBe("api.proto");
    expect(names).toContain("resources.proto");
    expect(names).toContain("google/api/annotations.proto");
    expect(names).toContain("google/protobuf/timestamp.proto");
    // Methods resolve to their service's file too.
    const m = files(await reflect(refl, { messageRequest: { case: "fileContainingSymbol", value: "tekton.results.v1alpha2.Results.GetRecord" } }));
    expect(m[0]!.name).toBe("api.proto");
  });

  test("unknown symbols and files are NOT_FOUND error responses", async () => {
    for (const messageRequest of [
      { case: "fileContainingSymbol", value: "no.such.Symbol" },
      { case: "fileByFilename", value: "nope.proto" },
    ]) {
      const res = await reflect(refl, { messageRequest });
      expect(res.messageResponse.case).toBe("errorResponse");
      expect((res.messageResponse.value as refl.ErrorResponse).errorCode).toBe(Code.NOT_FOUND);
    }
  });

  test("the published contract has upstream's names, field numbers and HTTP routes", async () => {
    const fs = files(await reflect(refl, { messageRequest: { case: "fileByFilename", value: "api.proto" } }));
    const byName = new Map(fs.map((f) => [f.name, f]));
    const api = byName.get("api.proto")!;
    const res = byName.get("resources.proto")!;
    expect(api.package).toBe("tekton.results.v1alpha2");
    const fields = (f: FileDescriptorProto, msg: string) =>
      Object.fromEntries(f.messageType.find((m) => m.name === msg)!.field.map((x) => [x.name, x.number]));
    expect(fields(res, "Result")).toEqual({
      name: 1, id: 2, uid: 7, created_time: 3, create_time: 8, updated_time: 6, update_time: 9, annotations: 4, etag: 5, summary: 10,
    });
    expect(fields(res, "Record")).toEqual({
      name: 1, id: 2, uid: 7, data: 3, etag: 4, created_time: 5, create_time: 8, updated_time: 6, update_time: 9,
    });
    expect(fields(res, "Any")).toEqual({ type: 1, value: 2 });
    expect(fields(res, "RecordSummary")).toEqual({ record: 1, type: 2, start_time: 3, end_time: 4, status: 5, annotations: 6 });
    expect(fields(res, "LogSummary")).toEqual({ record: 1, bytesReceived: 2 });
    expect(fields(api, "UpdateResultRequest")).toEqual({ name: 1, result: 2, etag: 3 });
    expect(fields(api, "UpdateRecordRequest")).toEqual({ record: 1, update_mask: 2, etag: 3 });
    expect(fields(api, "ListRecordsRequest")).toEqual({ parent: 1, filter: 2, page_size: 3, page_token: 4, order_by: 5 });
    expect(fields(api, "RecordListSummaryRequest")).toEqual({ parent: 1, summary: 2, filter: 3, group_by: 4, order_by: 5 });
    const svc = api.service.find((x) => x.name === "Results")!;
    expect(svc.method.map((m) => m.name)).toEqual([
      "CreateResult", "UpdateResult", "GetResult", "DeleteResult", "ListResults",
      "CreateRecord", "UpdateRecord", "GetRecord", "ListRecords", "DeleteRecord", "GetRecordListSummary",
    ]);
    // The google.api.http routes, read back from the reflected descriptors.
    const registry = createFileRegistry(api, (name) => byName.get(name));
    const routes = Object.fromEntries(
      registry.getService("tekton.results.v1alpha2.Results")!.methods.map((m) => {
        const rule = getOption(m, http);
        return [m.name, `${rule.pattern.case?.toUpperCase()} ${rule.pattern.value as string}${rule.body ? ` body=${rule.body}` : ""}`];
      }),
    );
    const P = "/apis/results.tekton.dev/v1alpha2/parents";
    expect(routes).toEqual({
      CreateResult: `POST ${P}/{parent=*}/results body=result`,
      UpdateResult: `PATCH ${P}/{result.name=*/results/*} body=result`,
      GetResult: `GET ${P}/{name=*/results/*}`,
      DeleteResult: `DELETE ${P}/{name=*/results/*}`,
      ListResults: `GET ${P}/{parent=*}/results`,
      CreateRecord: `POST ${P}/{parent=*/results/*}/records body=record`,
      UpdateRecord: `PATCH ${P}/{record.name=*/results/*/records/*} body=record`,
      GetRecord: `GET ${P}/{name=*/results/*/records/*}`,
      ListRecords: `GET ${P}/{parent=*/results/*}/records`,
      DeleteRecord: `DELETE ${P}/{name=*/results/*/records/*}`,
      GetRecordListSummary: `GET ${P}/{parent=*/results/*}/records/summary`,
    });
  });
});

describe("malformed and unknown calls", () => {
  function rawCall(path: string, payload: Buffer): Promise<grpc.ServiceError | null> {
    const c = new grpc.Client(s.address, grpc.credentials.createInsecure());
    return new Promise((resolve) => {
      c.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, payload, (err) => {
        c.close();
        resolve(err);
      });
    });
  }

  test("undecodable request bytes are INVALID_ARGUMENT, not INTERNAL", async () => {
    const err = await rawCall("/tekton.results.v1alpha2.Results/GetResult", Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]));
    expect(err?.code).toBe(Code.INVALID_ARGUMENT);
  });

  test("an unknown method is UNIMPLEMENTED", async () => {
    const err = await rawCall("/tekton.results.v1alpha2.Results/NoSuchMethod", Buffer.alloc(0));
    expect(err?.code).toBe(Code.UNIMPLEMENTED);
  });

  test("no internal detail leaks: errors carry only the code and a message", async () => {
    const err = await rawCall("/tekton.results.v1alpha2.Results/CreateResult", Buffer.from([0x12, 0x03, 0x0a, 0x01, 0xff]));
    expect(err?.details ?? "").not.toMatch(/at .*\.ts:\d+|SQLITE|node_modules/);
  });

  test("random bytes sent to every Results method never produce INTERNAL or UNKNOWN", async () => {
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const methods = ["CreateResult", "UpdateResult", "GetResult", "DeleteResult", "ListResults", "CreateRecord", "UpdateRecord", "GetRecord", "ListRecords", "DeleteRecord"];
    const codes = new Set<number>();
    for (const m of methods) {
      for (let i = 0; i < 60; i++) {
        const payload = Buffer.from(Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256)));
        const err = await rawCall(`/tekton.results.v1alpha2.Results/${m}`, payload);
        const code = err?.code ?? Code.OK;
        codes.add(code);
        expect([Code.INTERNAL, Code.UNKNOWN]).not.toContain(code);
      }
    }
    expect(codes.has(Code.INVALID_ARGUMENT)).toBe(true);
    // The server still answers normally afterwards.
    expect((await s.client.listResults({ parent: "-" })).results).toBeDefined();
  });
});
