/**
 * The REST route table, derived from the generated service descriptors and
 * their `google.api.http` options (the same source grpc-gateway generates
 * upstream's gateway from), so routes, request decoding and the OpenAPI
 * document cannot drift from the protos.
 */
import { getOption, hasOption, ScalarType, type DescField, type DescMethod, type DescService } from "@bufbuild/protobuf";
import type { TObject, TSchema } from "@sinclair/typebox";
// Elysia's TypeBox builder: its query coercion ("12" -> 12) only knows schemas built with it.
import { t as Type } from "elysia";
import { http } from "../../gen/google/api/annotations_pb.ts";
import type { HttpRule } from "../../gen/google/api/http_pb.ts";
import { parsePathTemplate, type PathTemplate } from "./path-template.ts";

export type Verb = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** One query parameter: the request field it sets, under its proto and JSON names. */
export interface QueryParam {
  field: DescField & { fieldKind: "scalar" | "enum" };
  /**
   * TypeBox schema of one value, which Elysia validates. No `format`
   * keywords: TypeBox fails values of formats it has not registered.
   */
  schema: TSchema;
  /** The same as plain JSON Schema, for the OpenAPI document (Elysia's integers carry a coercion union). */
  doc: Record<string, unknown>;
  /** Words for error messages, e.g. "a 32-bit integer". */
  expected: string;
  /** Whether one raw value passes `schema` (to name the culprit when validation fails). */
  accepts(raw: string): boolean;
}

export interface Route {
  method: DescMethod;
  verb: Verb;
  path: PathTemplate;
  /** The request field the JSON body fills ("" = no body, "*" = the whole request). */
  body: string;
  query: QueryParam[];
  /** Validation schema for the query string (both spellings of every parameter, plus `fields`). */
  querySchema: TObject;
}

/** `fields` is not a request field: it prunes the response (AIP-157). */
export const FIELDS_PARAM = "fields";

const INT32 = { minimum: -2147483648, maximum: 2147483647 };
const UINT32 = { minimum: 0, maximum: 4294967295 };

const isInt = (raw: string, min: number, max: number) => {
  const n = Number(raw);
  return raw.trim() !== "" && Number.isInteger(n) && n >= min && n <= max;
};

/** How a scalar or enum request field is given in a query string. */
function queryParam(f: DescField): QueryParam | null {
  const p = (schema: TSchema, doc: Record<string, unknown>, expected: string, accepts: (raw: string) => boolean): QueryParam => ({
    field: f as QueryParam["field"],
    schema,
    doc,
    expected,
    accepts,
  });
  if (f.fieldKind === "enum") {
    const names = f.enum.values.map((v) => v.name);
    return p(Type.Union([Type.Union(names.map((n) => Type.Literal(n))), Type.Integer(INT32)]), { type: "string", enum: names }, `one of ${names.join(", ")}`, (raw) =>
      names.includes(raw) || isInt(raw, INT32.minimum, INT32.maximum),
    );
  }
  if (f.fieldKind !== "scalar") return null;
  switch (f.scalar) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return p(Type.String(), { type: "string" }, "a string", () => true);
    case ScalarType.BOOL:
      return p(Type.Boolean(), { type: "boolean" }, "true or false", (raw) => raw === "true" || raw === "false");
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return p(Type.Integer(INT32), { type: "integer", format: "int32", ...INT32 }, "an integer from -2147483648 to 2147483647", (raw) => isInt(raw, INT32.minimum, INT32.maximum));
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return p(Type.Integer(UINT32), { type: "integer", format: "uint32", ...UINT32 }, "an integer from 0 to 4294967295", (raw) => isInt(raw, UINT32.minimum, UINT32.maximum));
    case ScalarType.FLOAT:
    case ScalarType.DOUBLE:
      return p(Type.Number(), { type: "number" }, "a number", (raw) => raw.trim() !== "" && !Number.isNaN(Number(raw)));
    default: {
      const re = /^-?[0-9]{1,20}$/;
      return p(Type.String({ pattern: re.source }), { type: "string", format: "int64", pattern: re.source }, "a 64-bit integer", (raw) => re.test(raw));
    }
  }
}

function verbOf(rule: HttpRule): { verb: Verb; path: string } | null {
  switch (rule.pattern.case) {
    case "get":
      return { verb: "GET", path: rule.pattern.value };
    case "post":
      return { verb: "POST", path: rule.pattern.value };
    case "put":
      return { verb: "PUT", path: rule.pattern.value };
    case "patch":
      return { verb: "PATCH", path: rule.pattern.value };
    case "delete":
      return { verb: "DELETE", path: rule.pattern.value };
    default:
      return null; // custom verbs: none in Tekton's protos
  }
}

function routeFor(method: DescMethod, rule: HttpRule): Route | null {
  const vp = verbOf(rule);
  if (!vp) return null;
  const path = parsePathTemplate(vp.path);
  // Fields bound by the path or the body are not query parameters (as in grpc-gateway).
  const bound = new Set<string>([...path.variables.map((v) => v.fieldPath[0]!), ...(rule.body ? [rule.body] : [])]);
  const query: QueryParam[] = [];
  if (rule.body !== "*") {
    for (const f of method.input.fields) {
      if (bound.has(f.name)) continue;
      const q = queryParam(f);
      if (q) query.push(q);
    }
  }
  const props: Record<string, TSchema> = {};
  for (const q of query) {
    props[q.field.name] = Type.Optional(q.schema);
    if (q.field.jsonName !== q.field.name) props[q.field.jsonName] = Type.Optional(q.schema);
  }
  props[FIELDS_PARAM] = Type.Optional(Type.String());
  return { method, verb: vp.verb, path, body: rule.body, query, querySchema: Type.Object(props, { additionalProperties: true }) };
}

/**
 * Every HTTP binding of every unary method of `services` (additional
 * bindings included). Streaming methods (the logs) are left out.
 */
export function deriveRoutes(services: readonly DescService[], include: (m: DescMethod) => boolean = () => true): Route[] {
  const routes: Route[] = [];
  for (const svc of services) {
    for (const method of svc.methods) {
      if (method.methodKind !== "unary" || !include(method) || !hasOption(method, http)) continue;
      const rule = getOption(method, http);
      for (const r of [rule, ...rule.additionalBindings]) {
        const route = routeFor(method, r);
        if (route) routes.push(route);
      }
    }
  }
  return routes;
}
