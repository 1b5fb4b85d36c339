/**
 * X.509 certificates made at test time, with no openssl: a CA, a server
 * certificate for 127.0.0.1/localhost and client certificates, all EC P-256,
 * DER built by hand (about a hundred lines of ASN.1) and signed with
 * node:crypto. TEST-ONLY: the keys live in memory (or a temporary directory)
 * for one test run and protect nothing.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";

// ---- DER --------------------------------------------------------------------------

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let x = n; x > 0; x >>= 8) bytes.unshift(x & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, body: Buffer) => Buffer.concat([Buffer.from([tag]), len(body.length), body]);
const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));
const explicit = (n: number, body: Buffer) => tlv(0xa0 + n, body);
const octets = (b: Buffer) => tlv(0x04, b);
const bitString = (b: Buffer) => tlv(0x03, Buffer.concat([Buffer.from([0]), b]));
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, "utf8"));

function integer(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  let v = b.subarray(i);
  if (v[0]! & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return tlv(0x02, v);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split(".").map(Number);
  const out: number[] = [parts[0]! * 40 + parts[1]!];
  for (const p of parts.slice(2)) {
    const b: number[] = [p & 0x7f];
    for (let x = p >> 7; x > 0; x >>= 7) b.unshift((x & 0x7f) | 0x80);
    out.push(...b);
  }
  return tlv(0x06, Buffer.from(out));
}

function time(d: Date): Buffer {
  const s = d.toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z"; // YYYYMMDDHHMMSSZ
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(s.slice(2))) : tlv(0x18, Buffer.from(s));
}

const OID = {
  ecdsaSha256: "1.2.840.10045.4.3.2",
  cn: "2.5.4.3",
  o: "2.5.4.10",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
};

function name(cn: string, org?: string): Buffer {
  const rdns = [set(seq(oid(OID.cn), utf8(cn)))];
  if (org) rdns.unshift(set(seq(oid(OID.o), utf8(org))));
  return seq(...rdns);
}

const ext = (id: string, critical: boolean, value: Buffer) => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

function sanExtension(dns: string[], ips: string[]): Buffer {
  const names = [
    ...dns.map((d) => tlv(0x82, Buffer.from(d))),
    ...ips.map((ip) => tlv(0x87, Buffer.from(ip.split(".").map(Number)))),
  ];
  return ext(OID.subjectAltName, false, seq(...names));
}

// ---- certificates ------------------------------------------------------------------------

export interface KeyPair {
  /** PEM certificate. */
  cert: string;
  /** PEM private key (PKCS#8). Test-only. */
  key: string;
}

export interface Issued extends KeyPair {
  keyObject: KeyObject;
}

interface CertSpec {
  subject: { cn: string; o?: string };
  issuer?: Issued & { subject: { cn: string; o?: string } };
  ca?: boolean;
  dns?: string[];
  ips?: string[];
  usage?: "server" | "client";
}

function pem(label: string, der: Buffer): string {
  const b64 = der.toString("base64").match(/.{1,64}/g)!.join("\n");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function issue(spec: CertSpec): Issued & { subject: { cn: string; o?: string } } {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const spki = publicKey.export({ type: "spki", format: "der" });
  const alg = seq(oid(OID.ecdsaSha256));
  const now = Date.now();
  const exts: Buffer[] = [];
  if (spec.ca) {
    exts.push(ext(OID.basicConstraints, true, seq(bool(true))));
    exts.push(ext(OID.keyUsage, true, bitString(Buffer.from([0x06])))); // keyCertSign, cRLSign
  } else {
    exts.push(ext(OID.basicConstraints, true, seq()));
    exts.push(ext(OID.keyUsage, true, bitString(Buffer.from([0xa0])))); // digitalSignature, keyEncipherment
    exts.push(ext(OID.extKeyUsage, false, seq(oid(spec.usage === "client" ? OID.clientAuth : OID.serverAuth))));
    if (spec.dns?.length || spec.ips?.length) exts.push(sanExtension(spec.dns ?? [], spec.ips ?? []));
  }
  const issuerName = spec.issuer ? name(spec.issuer.subject.cn, spec.issuer.subject.o) : name(spec.subject.cn, spec.subject.o);
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(Buffer.concat([Buffer.from([0x01]), randomBytes(15)])),
    alg,
    issuerName,
    seq(time(new Date(now - 3600_000)), time(new Date(now + 7 * 86400_000))),
    name(spec.subject.cn, spec.subject.o),
    spki,
    explicit(3, seq(...exts)),
  );
  const signer = spec.issuer?.keyObject ?? privateKey;
  const sig = sign("sha256", tbs, signer);
  const der = seq(tbs, alg, bitString(sig));
  return {
    cert: pem("CERTIFICATE", der),
    key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    keyObject: privateKey,
    subject: spec.subject,
  };
}

export interface TestPki {
  ca: KeyPair;
  server: KeyPair;
  /** A client certificate the server trusts (CN = user, O = group). */
  client: KeyPair;
  /** A second, unrelated CA: a kubeconfig naming it cannot verify the server. */
  otherCa: KeyPair;
}

/** A fresh CA with a server and a client certificate. TEST-ONLY keys. */
export function makeTestPki(opts: { user?: string; group?: string; serverDns?: string[]; serverIps?: string[]; caName?: string } = {}): TestPki {
  // Two CAs trusted together must differ in name: a verifier picks the issuer by name.
  const ca = issue({ subject: { cn: opts.caName ?? "hindsight-test-ca" }, ca: true });
  const server = issue({ subject: { cn: "kube-apiserver" }, issuer: ca, dns: opts.serverDns ?? ["localhost"], ips: opts.serverIps ?? ["127.0.0.1"], usage: "server" });
  const client = issue({ subject: { cn: opts.user ?? "hindsight", o: opts.group ?? "watchers" }, issuer: ca, usage: "client" });
  const otherCa = issue({ subject: { cn: "some-other-ca" }, ca: true });
  const strip = (x: Issued): KeyPair => ({ cert: x.cert, key: x.key });
  return { ca: strip(ca), server: strip(server), client: strip(client), otherCa: strip(otherCa) };
}

/** Sanity helper for tests: the PEM parses as a key. */
export function isKeyPem(pemText: string): boolean {
  try {
    createPrivateKey(pemText);
    return true;
  } catch {
    try {
      createPublicKey(pemText);
      return true;
    } catch {
      return false;
    }
  }
}
