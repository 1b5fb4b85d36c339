/**
 * The OpenAPI 3.1 document of the REST API, generated from the route table
 * (itself derived from the protos' `google.api.http` options) and from the
 * message descriptors: nothing here is written per route or per message, so
 * the document always describes what the server does.
 */
import { getOption, hasOption, ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { FieldBehavior, field_behavior } from "../../gen/google/api/field_behavior_pb.ts";
import { FIELDS_PARAM, type Route } from "./routes.ts";

type Schema = Record<string, unknown>;
export type OpenApiDocument = {
  openapi: string;
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
};
export interface Operation {
  operationId: string;
  summary: string;
  description: string;
  tags: string[];
  parameters: Array<{ name: string; in: "path" | "query"; required: boolean; description: string; schema: Schema }>;
  requestBody?: { required: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<string, { description: string; content: Record<string, { schema: Schema }> }>;
}

const STATUS = "google.rpc.Status";
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** Well-known types have a JSON form of their own. */
const WKT: Record<string, Schema> = {
  "google.protobuf.Timestamp": { type: "string", format: "date-time" },
  "google.protobuf.Duration": { type: "string", pattern: "^-?[0-9]+(\\.[0-9]+)?s$" },
  "google.protobuf.FieldMask": { type: "string", description: "comma-separated field paths" },
  "google.protobuf.Struct": { type: "object", additionalProperties: true },
  "google.protobuf.Value": {},
  "google.protobuf.ListValue": { type: "array", items: {} },
  "google.protobuf.Empty": { type: "object", additionalProperties: false },
};

function scalarSchema(t: ScalarType): Schema {
  switch (t) {
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.BYTES:
      return { type: "string", format: "byte", contentEncoding: "base64" };
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return { type: "number" };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: "integer", format: "int32" };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: "integer", format: "uint32", minimum: 0 };
    default:
      return { type: "string", format: "int64" }; // 64-bit integers are JSON strings
  }
}

class SchemaSet {
  readonly schemas: Record<string, Schema> = {};

  message(desc: DescMessage): Schema {
    const wkt = WKT[desc.typeName];
    if (wkt) return wkt;
    if (!(desc.typeName in this.schemas)) {
      this.schemas[desc.typeName] = {}; // placeholder: recursive messages refer to themselves
      const properties: Record<string, Schema> = {};
      for (const f of desc.fields) properties[f.name] = this.field(f);
      this.schemas[desc.typeName] = {
        type: "object",
        description: `${desc.typeName}: protobuf JSON with proto field names; empty fields are omitted; unknown fields are ignored on input.`,
        properties,
      };
    }
    return ref(desc.typeName);
  }

  private single(f: DescField): Schema {
    if (f.message) return this.message(f.message);
    if (f.enum) return { type: "string", enum: f.enum.values.map((v) => v.name) };
    return scalarSchema(f.scalar ?? ScalarType.STRING);
  }

  field(f: DescField): Schema {
    let s: Schema;
    if (f.fieldKind === "list") s = { type: "array", items: this.single(f) };
    else if (f.fieldKind === "map") s = { type: "object", additionalProperties: this.single(f) };
    else s = this.single(f);
    const behavior = hasOption(f, field_behavior) ? getOption(f, field_behavior) : [];
    const extra: Schema = {};
    if (behavior.includes(FieldBehavior.OUTPUT_ONLY)) extra.readOnly = true;
    if (f.deprecated) extra.deprecated = true;
    if (f.jsonName !== f.name) extra.description = `also accepted as "${f.jsonName}" on input`;
    if (Object.keys(extra).length === 0) return s;
    return "$ref" in s ? { allOf: [s], ...extra } : { ...s, ...extra };
  }
}

/** `{"code":N,"message":"..."}`: every error answer. */
const statusSchema: Schema = {
  type: "object",
  description: "An error: the gRPC status code and a message. The HTTP status follows grpc-gateway's mapping of the code.",
  properties: { code: { type: "integer", format: "int32" }, message: { type: "string" } },
};

function operation(route: Route, set: SchemaSet, opId: string): Operation {
  const m = route.method;
  const parameters: Operation["parameters"] = [];
  for (const v of route.path.variables) {
    for (const p of v.parts) {
      if ("param" in p) {
        parameters.push({
          name: p.param,
          in: "path",
          required: true,
          description: `one segment of ${v.fieldPath.join(".")} (${v.parts.map((x) => ("param" in x ? `{${x.param}}` : x.literal)).join("/")})`,
          schema: { type: "string", pattern: "^[a-z0-9_-]{1,63}$" },
        });
      }
    }
  }
  for (const q of route.query) {
    parameters.push({
      name: q.field.name,
      in: "query",
      required: false,
      description: `${m.input.typeName}.${q.field.name}${q.field.jsonName !== q.field.name ? ` (also accepted as ${q.field.jsonName})` : ""}`,
      schema: q.doc,
    });
  }
  parameters.push({
    name: FIELDS_PARAM,
    in: "query",
    required: false,
    description:
      "Partial response: comma-separated proto field paths to keep, e.g. records.name,records.data.value.metadata (paths inside data.value prune the JSON document).",
    schema: { type: "string" },
  });
  const op: Operation = {
    operationId: opId,
    summary: m.name,
    description: `Calls the gRPC method /${m.parent.typeName}/${m.name}; the answer is the same message in protobuf JSON.`,
    tags: [m.parent.name],
    parameters,
    responses: {
      "200": { description: m.output.typeName, content: { "application/json": { schema: set.message(m.output) } } },
      default: { description: "an error", content: { "application/json": { schema: ref(STATUS) } } },
    },
  };
  if (route.body !== "") {
    const bodyDesc = route.body === "*" ? m.input : m.input.fields.find((f) => f.name === route.body)?.message;
    if (bodyDesc) op.requestBody = { required: true, content: { "application/json": { schema: set.message(bodyDesc) } } };
  }
  return op;
}

export function openApiDocument(routes: readonly Route[]): OpenApiDocument {
  const set = new SchemaSet();
  const paths: OpenApiDocument["paths"] = {};
  const ids = new Set<string>();
  for (const r of routes) {
    let id = r.method.name;
    for (let i = 2; ids.has(id); i++) id = `${r.method.name}${i}`;
    ids.add(id);
    (paths[r.path.openApiPath] ??= {})[r.verb.toLowerCase()] = operation(r, set, id);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Tekton Results API (Hindsight)",
      version: "v1alpha2",
      description:
        "The Tekton Results REST API as upstream's grpc-gateway serves it: protobuf JSON with proto (snake_case) field names, " +
        "empty fields omitted, record data.value as base64 of the JSON document, errors as {\"code\":N,\"message\":\"...\"}. " +
        "Generated from the protos' google.api.http options.",
    },
    paths,
    components: { schemas: { ...set.schemas, [STATUS]: statusSchema } },
  };
}
