/**
 * `hindsight token create|list|revoke`: manages the API tokens of auth mode
 * `token` directly in the database file (the server may be running: SQLite
 * in WAL mode takes both, and the server sees a revocation within a second).
 *
 * `create` prints the secret once, alone on the last line, so a script can
 * take it with `tail -n1`; only its hash is stored.
 */
import { parseArgs } from "node:util";
import { audit } from "../api/audit.ts";
import { AppError } from "../core/errors.ts";
import { closeDatabase, openDatabase } from "../store/db.ts";
import { checkRole, parseParentGlobs, TokenStore } from "../store/tokens.ts";

export const TOKEN_USAGE = `Usage:
  hindsight token create --name NAME --role viewer|writer|admin [--parents GLOB,...]
  hindsight token list [--json]
  hindsight token revoke NAME

Each takes --db PATH and --config PATH and finds the database as serve does.

Roles: viewer reads; writer also creates and updates; admin also deletes.
--parents limits a token to matching parents (namespaces); globs use * and ?.
`;

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

/**
 * Runs the command; returns the exit code. `dbDefault`: the database when
 * --db is not given, or how to find it from --config (as serve resolves it).
 */
export function tokenCommand(args: string[], dbDefault: string | ((configFile: string | undefined) => string), io: Io): number {
  const [sub, ...rest] = args;
  let v: { db?: string; config?: string; name?: string; role?: string; parents?: string; json?: boolean; help?: boolean };
  let positionals: string[];
  try {
    const parsed = parseArgs({
      args: rest,
      options: {
        db: { type: "string" },
        config: { type: "string" },
        name: { type: "string" },
        role: { type: "string" },
        parents: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
      strict: true,
    });
    v = parsed.values;
    positionals = parsed.positionals;
  } catch (e) {
    io.err(`hindsight token: ${(e as Error).message}\n${TOKEN_USAGE}`);
    return 2;
  }
  if (v.help || sub === undefined || sub === "help" || sub === "--help" || sub === "-h") {
    (sub === undefined ? io.err : io.out)(TOKEN_USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (!["create", "list", "revoke"].includes(sub)) {
    io.err(`hindsight token: unknown subcommand ${JSON.stringify(sub)}\n${TOKEN_USAGE}`);
    return 2;
  }
  const usage = (msg: string) => {
    io.err(`hindsight token ${sub}: ${msg}\n${TOKEN_USAGE}`);
    return 2;
  };
  if (sub === "create" && (!v.name || !v.role)) return usage("--name and --role are required");
  if (sub === "revoke" && positionals.length !== 1) return usage("give exactly one token NAME");
  if (sub !== "revoke" && positionals.length > 0) return usage(`unexpected argument ${JSON.stringify(positionals[0])}`);

  const db = openDatabase(v.db ?? (typeof dbDefault === "string" ? dbDefault : dbDefault(v.config)));
  try {
    const tokens = new TokenStore(db);
    if (sub === "create") {
      const role = checkRole(v.role!);
      const parents = v.parents === undefined ? null : parseParentGlobs(v.parents);
      const secret = tokens.create(v.name!, role, parents);
      audit({ identity: "cli", method: "token create", resource: v.name!, outcome: "ok" });
      io.out(`created token ${v.name} (role ${role}, parents ${parents ? parents.join(",") : "all"})\n`);
      io.out(`the secret is shown only now; send it as 'Authorization: Bearer SECRET':\n${secret}\n`);
    } else if (sub === "list") {
      const list = tokens.list();
      if (v.json) io.out(JSON.stringify({ tokens: list }, null, 2) + "\n");
      else {
        io.out("NAME\tROLE\tPARENTS\tCREATED\tREVOKED\n");
        for (const t of list) {
          io.out(`${t.name}\t${t.role}\t${t.parents ? t.parents.join(",") : "*"}\t${t.createdAt.toISOString()}\t${t.revokedAt?.toISOString() ?? "-"}\n`);
        }
      }
    } else {
      tokens.revoke(positionals[0]!);
      audit({ identity: "cli", method: "token revoke", resource: positionals[0]!, outcome: "ok" });
      io.out(`revoked token ${positionals[0]}\n`);
    }
    return 0;
  } catch (e) {
    if (e instanceof AppError) {
      io.err(`hindsight token ${sub}: ${e.message}\n`);
      return e.code === "not_found" || e.code === "already_exists" ? 1 : 2;
    }
    throw e;
  } finally {
    closeDatabase(db);
  }
}
