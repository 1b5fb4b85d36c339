/**
 * REST request -> proto request message, as grpc-gateway builds it: the JSON
 * body fills the route's body field, path variables then set their fields
 * (overriding the body), and query parameters set the remaining scalar
 * fields. Everything is assembled as protobuf JSON and decoded once with
 * fromJson, so both proto and lowerCamel names are accepted and unknown
 * fields are dropped, as upstream's `DiscardUnknown` does.
 */
import { fromJson, type DescMessage, type JsonObject, type JsonValue, type MessageShape } from "@bufbuild/protobuf";
import { invalidArgument } from "../../core/errors.ts";
import { bindVariables } from "./path-template.ts";
import type { Route } from "./routes.ts";

export function buildRequest(
  route: Route,
  params: Record<string, string | undefined>,
  query: Record<string, unknown>,
  body: JsonObject | undefined,
): MessageShape<DescMessage> {
  const json: JsonObject = {};
  if (body !== undefined) {
    if (route.body === "*") Object.assign(json, body);
    else if (route.body !== "") json[route.body] = body;
  }
  for (const { fieldPath, value } of bindVariables(route.path, params)) {
    let obj = json;
    for (const key of fieldPath.slice(0, -1)) {
      const next = obj[key];
      if (next === undefined || next === null) obj = obj[key] = {};
      else obj = next as JsonObject; // the body field: an object (checked when the body was read)
    }
    obj[fieldPath[fieldPath.length - 1]!] = value;
  }
  for (const q of route.query) {
    const v = query[q.field.name] ?? query[q.field.jsonName];
    if (v !== undefined) json[q.field.name] = v as JsonValue;
  }
  try {
    return fromJson(route.method.input, json, { ignoreUnknownFields: true });
  } catch (e) {
    // bufbuild names the message and field: "cannot decode field X.y from JSON: ...".
    throw invalidArgument(`invalid request: ${e instanceof Error ? e.message : String(e)}`);
  }
}
