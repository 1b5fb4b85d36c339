/**
 * grpc.health.v1.Health. Statuses are set by the server: "" (overall) and
 * each registered API service are SERVING while the process serves and turn
 * NOT_SERVING at shutdown, which also ends open Watch streams so a graceful
 * shutdown is not held up by them.
 */
import * as grpc from "@grpc/grpc-js";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  Health,
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Status,
} from "../../gen/grpc/health/v1/health_pb.ts";
import { clientDefinition, decodeRequest, toStatus } from "./adapter.ts";
import { notFound } from "../../core/errors.ts";

export { Status as HealthStatus };

const encode = (status: Status) => Buffer.from(toBinary(HealthCheckResponseSchema, create(HealthCheckResponseSchema, { status })));

export class HealthRegistry {
  private readonly statuses = new Map<string, Status>();
  private readonly watchers = new Set<{ service: string; call: grpc.ServerWritableStream<Buffer, Buffer> }>();

  set(service: string, status: Status): void {
    this.statuses.set(service, status);
    for (const w of this.watchers) if (w.service === service) w.call.write(encode(status));
  }

  get(service: string): Status | undefined {
    return this.statuses.get(service);
  }

  /** Marks everything NOT_SERVING and closes Watch streams. */
  shutdown(): void {
    for (const s of this.statuses.keys()) this.set(s, Status.NOT_SERVING);
    for (const w of this.watchers) w.call.end();
    this.watchers.clear();
  }

  service(): { definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation } {
    const definition = clientDefinition(Health);
    for (const m of Object.values(definition)) {
      (m as { requestDeserialize: unknown }).requestDeserialize = (b: Buffer) => b;
      (m as { responseSerialize: unknown }).responseSerialize = (b: Buffer) => b;
    }
    const implementation: grpc.UntypedServiceImplementation = {
      check: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        try {
          const req = decodeRequest(HealthCheckRequestSchema, call.request);
          const status = this.statuses.get(req.service);
          if (status === undefined) throw notFound(`unknown service ${JSON.stringify(req.service)}`);
          cb(null, encode(status));
        } catch (e) {
          cb(toStatus(e, "/grpc.health.v1.Health/Check"));
        }
      },
      watch: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        let service: string;
        try {
          service = decodeRequest(HealthCheckRequestSchema, call.request).service;
        } catch (e) {
          call.destroy(toStatus(e, "/grpc.health.v1.Health/Watch"));
          return;
        }
        const w = { service, call };
        this.watchers.add(w);
        call.write(encode(this.statuses.get(service) ?? Status.SERVICE_UNKNOWN));
        call.on("cancelled", () => this.watchers.delete(w));
        call.on("close", () => this.watchers.delete(w));
      },
    };
    return { definition, implementation };
  }
}
