/**
 * Where a worker's code is. From source, next to this folder's files; in the
 * single executable, embedded under the build's root (src/), because
 * scripts/build.ts names every worker as an extra entry point.
 */
export function workerUrl(file: string): string {
  return import.meta.url.includes("/$bunfs/") ? `./store/${file}` : new URL(`./${file}`, import.meta.url).href;
}
