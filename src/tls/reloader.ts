/**
 * Keeps both listeners on the current certificate: re-reads the PEM files
 * every second (a rotation by rename or by rewrite is seen either way) and
 * on `reload()` (SIGHUP), and tells the listeners when the content changed.
 * A broken rotation (unreadable files, a key that does not match) is logged
 * and ignored: the listeners keep serving the last good certificate.
 *
 * It is also a grpc-js CertificateProvider, so the gRPC server swaps its
 * secure context in place: open connections are not touched.
 */
import type { experimental } from "@grpc/grpc-js";
import { log } from "../log.ts";
import { loadTls, type TlsFiles, type TlsMaterial } from "./files.ts";

type Provider = experimental.CertificateProvider;
type IdentityListener = experimental.IdentityCertificateUpdateListener;
type CaListener = experimental.CaCertificateUpdateListener;

export class TlsReloader implements Provider {
  private material: TlsMaterial;
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly caListeners = new Set<CaListener>();
  private readonly changeListeners = new Set<(m: TlsMaterial) => void>();
  private timer: ReturnType<typeof setInterval> | null = null;

  /** Throws TlsFileError when the files are not usable (the start fails). */
  constructor(
    private readonly files: TlsFiles,
    checkEveryMs = 1000,
  ) {
    this.material = loadTls(files);
    if (checkEveryMs > 0) {
      this.timer = setInterval(() => this.reload(), checkEveryMs);
      this.timer.unref?.();
    }
  }

  get current(): TlsMaterial {
    return this.material;
  }

  get requiresClientCert(): boolean {
    return this.files.clientCa !== null;
  }

  /** Re-reads the files; returns whether the listeners got new material. */
  reload(): boolean {
    let next: TlsMaterial;
    try {
      next = loadTls(this.files);
    } catch (e) {
      log.error("TLS files not reloaded; still serving the previous certificate", { error: (e as Error).message });
      return false;
    }
    if (next.digest === this.material.digest) return false;
    this.material = next;
    log.info("TLS certificate reloaded", { cert: this.files.cert });
    for (const l of this.identityListeners) l(this.identity());
    for (const l of this.caListeners) l(this.ca());
    for (const l of this.changeListeners) l(next);
    return true;
  }

  /** For the REST listener, which rebuilds its server on a change. */
  onChange(l: (m: TlsMaterial) => void): void {
    this.changeListeners.add(l);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private identity() {
    return { certificate: Buffer.from(this.material.cert), privateKey: Buffer.from(this.material.key) };
  }

  private ca() {
    return this.material.clientCa === null ? null : { caCertificate: Buffer.from(this.material.clientCa) };
  }

  addIdentityCertificateListener(l: IdentityListener): void {
    this.identityListeners.add(l);
    l(this.identity());
  }
  removeIdentityCertificateListener(l: IdentityListener): void {
    this.identityListeners.delete(l);
  }
  addCaCertificateListener(l: CaListener): void {
    this.caListeners.add(l);
    l(this.ca());
  }
  removeCaCertificateListener(l: CaListener): void {
    this.caListeners.delete(l);
  }
}
