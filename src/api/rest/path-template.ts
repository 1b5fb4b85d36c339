/**
 * google.api.http path templates (`/v1/parents/{name=*\/results/*}`), turned
 * into what the REST server and the OpenAPI document need: a router path with
 * one named parameter per `*` segment, and the recipe that rebuilds each
 * request field from those parameters.
 *
 * Supported: literal segments, `{field}` (one segment), `{field.path=a/*\/b/*}`
 * (several segments captured into one field). Not supported (no Tekton route
 * uses them): `**`, and a `:verb` suffix; both are rejected when parsing.
 */

export type Segment = { literal: string } | { param: string };

export interface PathVariable {
  /** The request field the variable sets, e.g. ["result", "name"]. */
  fieldPath: string[];
  /** Its value's segments, literal or parameter, joined with "/". */
  parts: Segment[];
}

export interface PathTemplate {
  /** The template as written in the proto. */
  text: string;
  /** Every path segment in order, variables flattened. */
  segments: Segment[];
  variables: PathVariable[];
  /** Router form: "/parents/:parent/results/:result". */
  routerPath: string;
  /** OpenAPI form: "/parents/{parent}/results/{result}". */
  openApiPath: string;
}

/**
 * Names the parameter a `*` captures after the literal before it:
 * ".../parents/*" is `parent`, ".../results/*" is `result`, else the field.
 */
function paramName(prev: string | undefined, fieldPath: string[], taken: Set<string>): string {
  let name = prev && prev.length > 1 && prev.endsWith("s") ? prev.slice(0, -1) : fieldPath.join("_");
  name = name.replace(/[^A-Za-z0-9_]/g, "_");
  for (let i = 2; taken.has(name); i++) name = `${name}${i}`;
  taken.add(name);
  return name;
}

export function parsePathTemplate(text: string): PathTemplate {
  if (!text.startsWith("/")) throw new Error(`path template ${text}: must start with "/"`);
  if (/:[^/}]*$/.test(text)) throw new Error(`path template ${text}: a ":verb" suffix is not supported`);
  const segments: Segment[] = [];
  const variables: PathVariable[] = [];
  const taken = new Set<string>();
  let prevLiteral: string | undefined;
  const re = /\{([^}=]+)(?:=([^}]*))?\}|([^/{}]+)|\//gy;
  let m: RegExpExecArray | null;
  let pos = 0;
  while (pos < text.length && (m = re.exec(text))) {
    pos = re.lastIndex;
    if (m[3] !== undefined) {
      if (m[3] === "*" || m[3] === "**") throw new Error(`path template ${text}: a bare ${m[3]} outside a variable is not supported`);
      segments.push({ literal: m[3] });
      prevLiteral = m[3];
    } else if (m[1] !== undefined) {
      const fieldPath = m[1].split(".");
      const parts: Segment[] = [];
      for (const seg of (m[2] ?? "*").split("/")) {
        if (seg === "**") throw new Error(`path template ${text}: "**" is not supported`);
        if (seg === "*") {
          const p = { param: paramName(prevLiteral, fieldPath, taken) };
          parts.push(p);
          segments.push(p);
        } else {
          if (!/^[^*{}]+$/.test(seg)) throw new Error(`path template ${text}: bad segment ${JSON.stringify(seg)}`);
          parts.push({ literal: seg });
          segments.push({ literal: seg });
          prevLiteral = seg;
        }
      }
      variables.push({ fieldPath, parts });
    }
  }
  if (pos !== text.length) throw new Error(`path template ${text}: cannot parse after position ${pos}`);
  const render = (param: (name: string) => string) =>
    "/" + segments.map((s) => ("literal" in s ? s.literal : param(s.param))).join("/");
  return { text, segments, variables, routerPath: render((n) => `:${n}`), openApiPath: render((n) => `{${n}}`) };
}

/** The value of every variable, from the router's parameters. */
export function bindVariables(t: PathTemplate, params: Record<string, string | undefined>): Array<{ fieldPath: string[]; value: string }> {
  return t.variables.map((v) => ({
    fieldPath: v.fieldPath,
    value: v.parts.map((p) => ("literal" in p ? p.literal : (params[p.param] ?? ""))).join("/"),
  }));
}
