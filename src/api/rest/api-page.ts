/**
 * A human-readable page of the REST API (`GET /docs`), rendered from the
 * OpenAPI document: every route with its parameters, body and answer, and
 * every message with its fields. Self-contained HTML (no scripts, no
 * external assets), so it works offline and from the single binary.
 */
import type { OpenApiDocument, Operation } from "./openapi.ts";

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A schema in one short phrase: a type name (linked), or its JSON type. */
function typeText(s: Record<string, unknown> | undefined): string {
  if (!s) return "any";
  if (typeof s.$ref === "string") {
    const name = s.$ref.split("/").pop()!;
    return `<a href="#${esc(name)}">${esc(name.split(".").pop()!)}</a>`;
  }
  if (Array.isArray(s.allOf)) return typeText(s.allOf[0] as Record<string, unknown>);
  if (s.type === "array") return `array of ${typeText(s.items as Record<string, unknown>)}`;
  if (s.type === "object" && s.additionalProperties && typeof s.additionalProperties === "object") {
    return `map of string to ${typeText(s.additionalProperties as Record<string, unknown>)}`;
  }
  if (Array.isArray(s.enum)) return `one of ${s.enum.map((v) => `<code>${esc(String(v))}</code>`).join(", ")}`;
  const fmt = typeof s.format === "string" ? ` (${esc(s.format)})` : "";
  return `${esc(String(s.type ?? "any"))}${fmt}`;
}

function operationHtml(path: string, verb: string, op: Operation): string {
  const params = op.parameters
    .map((p) => `<tr><td><code>${esc(p.name)}</code></td><td>${p.in}</td><td>${typeText(p.schema)}</td><td>${esc(p.description)}</td></tr>`)
    .join("");
  const body = op.requestBody ? `<p>Body: ${typeText(op.requestBody.content["application/json"]?.schema)} as JSON.</p>` : "";
  const ok = op.responses["200"]?.content["application/json"]?.schema;
  return `<section class="op" id="${esc(op.operationId)}">
<h3><span class="verb ${verb}">${verb.toUpperCase()}</span> <code>${esc(path)}</code></h3>
<p><b>${esc(op.summary)}</b>. ${esc(op.description)}</p>
<table><tr><th>parameter</th><th>in</th><th>type</th><th>meaning</th></tr>${params}</table>
${body}<p>Answer: ${typeText(ok)}; errors: <a href="#google.rpc.Status">Status</a>.</p>
</section>`;
}

function schemaHtml(name: string, s: Record<string, unknown>): string {
  const props = (s.properties ?? {}) as Record<string, Record<string, unknown>>;
  const rows = Object.entries(props)
    .map(([k, v]) => {
      const notes = [v.readOnly ? "output only" : "", v.deprecated ? "deprecated" : "", typeof v.description === "string" ? v.description : ""].filter(Boolean);
      return `<tr><td><code>${esc(k)}</code></td><td>${typeText(v)}</td><td>${esc(notes.join("; "))}</td></tr>`;
    })
    .join("");
  return `<section id="${esc(name)}"><h3>${esc(name)}</h3><p>${esc(String(s.description ?? ""))}</p>
<table><tr><th>field</th><th>type</th><th>notes</th></tr>${rows}</table></section>`;
}

export function apiPage(doc: OpenApiDocument): string {
  const ops = Object.entries(doc.paths).flatMap(([path, verbs]) => Object.entries(verbs).map(([verb, op]) => operationHtml(path, verb, op)));
  const schemas = Object.entries(doc.components.schemas)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, s]) => schemaHtml(name, s));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(doc.info.title)}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}
code{font:13px ui-monospace,monospace;background:#f3f3f3;padding:0 .2em}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}
.verb{font:bold 13px ui-monospace,monospace;padding:.1rem .4rem;border-radius:3px;color:#fff;background:#555}
.get{background:#2b6cb0}.post{background:#2f855a}.patch{background:#b7791f}.delete{background:#c53030}
section.op{border-top:1px solid #eee;padding-top:.5rem}
</style></head><body>
<h1>${esc(doc.info.title)}, ${esc(doc.info.version)}</h1>
<p>${esc(doc.info.description)}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${esc(doc.openapi)}). Health: <code>GET /healthz</code>.</p>
<pre><code>curl -s 'http://HOST:PORT/apis/results.tekton.dev/v1alpha2/parents/-/results/-/records?page_size=5&amp;order_by=create_time%20desc'</code></pre>
<h2>Routes</h2>
${ops.join("\n")}
<h2>Messages</h2>
${schemas.join("\n")}
</body></html>
`;
}
