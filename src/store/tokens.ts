/**
 * Hindsight's own API tokens (auth mode `token`), in the `api_tokens` table.
 *
 * A secret is 32 random bytes, shown once at creation and never stored:
 * the row keeps its SHA-256. Looking a hash up by index reveals nothing
 * about the secret (SHA-256 is not invertible), and the hash found is then
 * compared in constant time anyway, so a timing side channel has nothing to
 * measure.
 *
 * Identities are cached for a second: the hot path does not query SQLite on
 * every call, and a revocation by `hindsight token revoke` (another process)
 * takes effect within that second.
 */
import type { Database, Statement } from "bun:sqlite";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { bearerToken, isParentGlob, Roles, unauthenticated, type Authenticator, type Identity, type Role } from "../core/auth.ts";
import { alreadyExists, invalidArgument, notFound } from "../core/errors.ts";

/** Every secret starts with this, so it is recognisable in a leaked file or a secret scanner. */
export const TOKEN_PREFIX = "hst_";
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const CACHE_MS = 1000;
const CACHE_MAX = 10_000;

export interface TokenInfo {
  name: string;
  role: Role;
  parents: string[] | null;
  createdAt: Date;
  revokedAt: Date | null;
}

interface Row {
  name: string;
  role: string;
  parents: string | null;
  hash: Uint8Array;
  created_at: number;
  revoked_at: number | null;
}

const sha256 = (s: string) => createHash("sha256").update(s).digest();

export function checkTokenName(name: string): string {
  if (!NAME_RE.test(name)) throw invalidArgument(`token name ${JSON.stringify(name.slice(0, 80))}: use 1-63 letters, digits, '.', '_' or '-'`);
  return name;
}

export function checkRole(role: string): Role {
  if (!(Roles as readonly string[]).includes(role)) throw invalidArgument(`role ${JSON.stringify(role.slice(0, 40))}: must be one of ${Roles.join(", ")}`);
  return role as Role;
}

/** "ns-a,team-*" -> globs; each must be a parent glob (see PARENT_GLOB_RE). */
export function parseParentGlobs(raw: string): string[] {
  const globs = raw.split(",").map((g) => g.trim()).filter((g) => g !== "");
  if (globs.length === 0) throw invalidArgument("--parents: give at least one parent or glob");
  for (const g of globs) {
    if (!isParentGlob(g)) throw invalidArgument(`--parents: ${JSON.stringify(g.slice(0, 80))} is not a parent glob (a-z, 0-9, '_', '-', '*', '?')`);
  }
  return globs;
}

export class TokenStore implements Authenticator {
  private readonly byHash: Statement<Row, [Uint8Array]>;
  private readonly cache = new Map<string, { identity: Identity | null; at: number }>();

  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {
    this.byHash = db.query<Row, [Uint8Array]>("SELECT name, role, parents, hash, created_at, revoked_at FROM api_tokens WHERE hash = ?");
  }

  /** Creates a token and returns its secret (the only time it exists outside the caller). */
  create(name: string, role: Role, parents: string[] | null): string {
    checkTokenName(name);
    checkRole(role);
    const secret = TOKEN_PREFIX + randomBytes(32).toString("base64url");
    try {
      this.db.run("INSERT INTO api_tokens (name, role, parents, hash, created_at) VALUES (?, ?, ?, ?, ?)", [
        name,
        role,
        parents === null ? null : JSON.stringify(parents),
        sha256(secret),
        this.now(),
      ]);
    } catch (e) {
      if (/UNIQUE constraint failed: api_tokens\.name/.test((e as Error).message)) throw alreadyExists(`token ${JSON.stringify(name)} already exists`);
      throw e;
    }
    return secret;
  }

  list(): TokenInfo[] {
    return this.db
      .query<Row, []>("SELECT name, role, parents, hash, created_at, revoked_at FROM api_tokens ORDER BY name")
      .all()
      .map((r) => ({
        name: r.name,
        role: r.role as Role,
        parents: r.parents === null ? null : (JSON.parse(r.parents) as string[]),
        createdAt: new Date(r.created_at),
        revokedAt: r.revoked_at === null ? null : new Date(r.revoked_at),
      }));
  }

  /** Revokes a token at once (for this process; others within a second). */
  revoke(name: string): void {
    const res = this.db.run("UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", [this.now(), name]);
    if (res.changes === 0) {
      const exists = this.db.query<{ n: number }, [string]>("SELECT count(*) AS n FROM api_tokens WHERE name = ?").get(name);
      throw exists?.n ? invalidArgument(`token ${JSON.stringify(name)} is already revoked`) : notFound(`no token named ${JSON.stringify(name)}`);
    }
    this.cache.clear();
  }

  authenticate(authorization: string): Identity {
    const secret = bearerToken(authorization);
    const hash = sha256(secret);
    const key = hash.toString("base64");
    const t = this.now();
    let hit = this.cache.get(key);
    if (!hit || t - hit.at > CACHE_MS) {
      hit = { identity: this.lookup(hash), at: t };
      if (this.cache.size >= CACHE_MAX) this.cache.clear();
      this.cache.set(key, hit);
    }
    if (!hit.identity) throw unauthenticated("invalid or revoked token");
    return hit.identity;
  }

  private lookup(hash: Buffer): Identity | null {
    const row = this.byHash.get(hash);
    if (!row || row.revoked_at !== null) return null;
    const stored = Buffer.from(row.hash);
    if (stored.length !== hash.length || !timingSafeEqual(stored, hash)) return null;
    return { name: row.name, role: row.role as Role, parents: row.parents === null ? null : (JSON.parse(row.parents) as string[]) };
  }
}
