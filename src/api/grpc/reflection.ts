/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha), answered from the
 * descriptors compiled into the binary. File names and boundaries are the
 * real ones ("api.proto", "resources.proto", …), so grpcurl and generated
 * clients see exactly the files upstream publishes.
 */
import * as grpc from "@grpc/grpc-js";
import { create, createFileRegistry, toBinary, type DescFile, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.ts";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.ts";
import { clientDefinition, decodeRequest } from "./adapter.ts";

type Api = typeof v1 | typeof v1alpha;

export class Reflection {
  private readonly registry: FileRegistry;
  private readonly streams = new Set<grpc.ServerDuplexStream<Buffer, Buffer>>();

  /** `files`: the files of every served service; their imports are found from them. */
  constructor(
    files: DescFile[],
    private readonly serviceNames: () => string[],
  ) {
    const all = new Map<string, DescFile>();
    const collect = (f: DescFile) => {
      if (all.has(f.proto.name)) return;
      all.set(f.proto.name, f);
      f.dependencies.forEach(collect);
    };
    files.forEach(collect);
    this.registry = createFileRegistry(
      ...[...all.values()].map((f) => createFileRegistry(f.proto, (name) => all.get(name))),
    );
  }

  /** Ends open reflection streams (at shutdown). */
  close(): void {
    for (const s of this.streams) s.end();
    this.streams.clear();
  }

  services(): Array<{ definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation }> {
    return [this.service(v1), this.service(v1alpha)];
  }

  private service(api: Api) {
    const definition = clientDefinition(api.ServerReflection);
    for (const m of Object.values(definition)) {
      (m as { requestDeserialize: unknown }).requestDeserialize = (b: Buffer) => b;
      (m as { responseSerialize: unknown }).responseSerialize = (b: Buffer) => b;
    }
    const implementation: grpc.UntypedServiceImplementation = {
      serverReflectionInfo: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        this.streams.add(call);
        call.on("data", (bytes: Buffer) => {
          let res;
          try {
            const req = decodeRequest(api.ServerReflectionRequestSchema as typeof v1.ServerReflectionRequestSchema, bytes);
            res = this.answer(req);
          } catch {
            res = { messageResponse: { case: "errorResponse" as const, value: { errorCode: 3, errorMessage: "malformed request" } } };
          }
          const msg = create(api.ServerReflectionResponseSchema as typeof v1.ServerReflectionResponseSchema, res);
          call.write(Buffer.from(toBinary(api.ServerReflectionResponseSchema as typeof v1.ServerReflectionResponseSchema, msg)));
        });
        call.on("end", () => {
          this.streams.delete(call);
          call.end();
        });
        call.on("error", () => this.streams.delete(call));
      },
    };
    return { definition, implementation };
  }

  private answer(req: v1.ServerReflectionRequest) {
    const base = { validHost: req.host, originalRequest: req };
    const notFound = (what: string) => ({
      ...base,
      messageResponse: { case: "errorResponse" as const, value: { errorCode: 5, errorMessage: `${what} not found` } },
    });
    const files = (f: DescFile) => ({
      ...base,
      messageResponse: {
        case: "fileDescriptorResponse" as const,
        value: { fileDescriptorProto: this.withDependencies(f).map((d) => toBinary(FileDescriptorProtoSchema, d.proto)) },
      },
    });
    const r = req.messageRequest;
    switch (r.case) {
      case "listServices":
        return {
          ...base,
          messageResponse: {
            case: "listServicesResponse" as const,
            value: { service: this.serviceNames().map((name) => ({ name })) },
          },
        };
      case "fileByFilename": {
        const f = this.registry.getFile(r.value);
        return f ? files(f) : notFound(`file ${r.value}`);
      }
      case "fileContainingSymbol": {
        const f = this.fileOfSymbol(r.value);
        return f ? files(f) : notFound(`symbol ${r.value}`);
      }
      case "fileContainingExtension": {
        const extendee = this.registry.getMessage(r.value.containingType);
        const ext = extendee && this.registry.getExtensionFor(extendee, r.value.extensionNumber);
        return ext ? files(ext.file) : notFound(`extension ${r.value.containingType}/${r.value.extensionNumber}`);
      }
      case "allExtensionNumbersOfType": {
        const msg = this.registry.getMessage(r.value);
        if (!msg) return notFound(`type ${r.value}`);
        const numbers: number[] = [];
        for (const d of this.registry) if (d.kind === "extension" && d.extendee.typeName === r.value) numbers.push(d.number);
        return {
          ...base,
          messageResponse: {
            case: "allExtensionNumbersResponse" as const,
            value: { baseTypeName: r.value, extensionNumber: numbers },
          },
        };
      }
      default:
        return {
          ...base,
          messageResponse: { case: "errorResponse" as const, value: { errorCode: 12, errorMessage: "unsupported request" } },
        };
    }
  }

  /** The file declaring a symbol; "pkg.Service.Method" and "pkg.Message.field" resolve to their parent. */
  private fileOfSymbol(symbol: string): DescFile | undefined {
    const d = this.registry.get(symbol);
    if (d) return d.file;
    const dot = symbol.lastIndexOf(".");
    if (dot <= 0) return undefined;
    const parent = this.registry.get(symbol.slice(0, dot));
    return parent?.file;
  }

  private withDependencies(f: DescFile): DescFile[] {
    const out: DescFile[] = [];
    const seen = new Set<string>();
    const visit = (x: DescFile) => {
      if (seen.has(x.name)) return;
      seen.add(x.name);
      out.push(x);
      for (const d of x.dependencies) visit(d);
    };
    visit(f);
    return out;
  }
}
