/**
 * Seeded generator of build-step output shaped like the steps of the real
 * fixtures (git clone, npm/maven dependency resolution, compilers, test
 * runners, buildah image builds, SBOM and scan summaries): varied paths,
 * versions, durations, digests and progress lines, so compression figures
 * are not flattered by repetition. Same seed, same bytes.
 */
import { makeRng, type Rng } from "./data.ts";

const int = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
const hex = (rng: Rng, n: number) => {
  let s = "";
  while (s.length < n) s += Math.floor(rng() * 0x100000000).toString(16).padStart(8, "0");
  return s.slice(0, n);
};

const PKGS = ["react", "lodash", "express", "typescript", "webpack", "babel-core", "jest", "eslint", "axios", "moment", "chalk", "commander", "yargs", "uuid", "debug", "semver", "rxjs", "zone.js", "tslib", "core-js", "@types/node", "@angular/core", "vue", "next", "prettier"];
const MAVEN = ["org.springframework:spring-core", "com.fasterxml.jackson.core:jackson-databind", "org.apache.commons:commons-lang3", "io.netty:netty-handler", "org.slf4j:slf4j-api", "junit:junit", "org.hibernate:hibernate-core", "com.google.guava:guava"];
const DIRS = ["src/main/java/com/acme/billing", "src/components", "pkg/api/server", "internal/store", "lib/utils", "src/services/payments", "cmd/controller", "test/integration"];
const FILES = ["Invoice", "UserService", "handler", "router", "cache", "PaymentGateway", "reconciler", "client", "config", "metrics", "index", "App"];
const EXT = [".java", ".ts", ".go", ".tsx", ".js", ".py"];
const WARN = ["unused variable 'tmp'", "deprecated API usage: Thread.stop()", "implicit any in parameter 'e'", "unchecked conversion", "shadowed declaration of 'err'"];

/**
 * Line kinds by build phase, as a step's output runs: clone, dependency
 * resolution, compilation (with warnings), tests, image build and push
 * (where the digests are), application log lines of integration tests.
 */
const PHASES: ReadonlyArray<readonly number[]> = [
  [7, 8, 7, 8],
  [0, 0, 0, 11, 1, 1],
  [2, 2, 2, 2, 3],
  [4, 4, 4, 10, 12],
  [5, 6, 9, 5],
  [12, 12, 12, 4],
];

function line(rng: Rng, t: number, phase: number): string {
  const ts = new Date(1_764_150_000_000 + t).toISOString();
  const f = () => `${pick(rng, DIRS)}/${pick(rng, FILES)}${int(rng, 0, 40) || ""}${pick(rng, EXT)}`;
  switch (pick(rng, PHASES[phase]!)) {
    case 0:
      return `npm http fetch GET 200 https://registry.npmjs.org/${pick(rng, PKGS)}/-/${pick(rng, PKGS).replace(/[@/]/g, "")}-${int(rng, 0, 9)}.${int(rng, 0, 30)}.${int(rng, 0, 20)}.tgz ${int(rng, 3, 900)}ms (cache ${pick(rng, ["miss", "hit", "revalidated"])})`;
    case 1:
      return `[INFO] Downloaded from central: https://repo.maven.apache.org/maven2/${pick(rng, MAVEN).replace(/[.:]/g, "/")}/${int(rng, 1, 6)}.${int(rng, 0, 20)}.${int(rng, 0, 9)}/x.jar (${int(rng, 2, 4000)} kB at ${int(rng, 100, 9000)} kB/s)`;
    case 2:
      return `[${ts}] Compiling ${f()} (${int(rng, 1, 900)} ms)`;
    case 3:
      return `${f()}:${int(rng, 1, 900)}:${int(rng, 1, 80)}: warning: ${pick(rng, WARN)}`;
    case 4:
      return `  ✓ ${pick(rng, FILES)} ${pick(rng, ["handles", "rejects", "returns", "retries", "parses"])} ${pick(rng, ["empty input", "a missing id", "large payloads", "concurrent updates", "timeouts"])} (${int(rng, 0, 300)} ms)`;
    case 5:
      return `STEP ${int(rng, 1, 12)}/12: ${pick(rng, ["RUN npm ci --omit=dev", "COPY . /opt/app-root/src", "RUN mvn -B package -DskipTests", "FROM registry.access.redhat.com/ubi9/nodejs-18:latest", "USER 1001"])}`;
    case 6:
      return `Copying blob sha256:${hex(rng, 64)}`;
    case 7:
      return `remote: Counting objects: ${int(rng, 1, 100)}% (${int(rng, 1, 9000)}/${int(rng, 9000, 20000)})`;
    case 8:
      return `Receiving objects: ${int(rng, 1, 100)}% (${int(rng, 1, 9000)}/${int(rng, 9000, 20000)}), ${(rng() * 90).toFixed(2)} MiB | ${(rng() * 30).toFixed(2)} MiB/s`;
    case 9:
      return `{"level":"info","ts":${(1_764_150_000 + t / 1000).toFixed(3)},"logger":"build","msg":"layer pushed","digest":"sha256:${hex(rng, 64)}","size":${int(rng, 1000, 90_000_000)}}`;
    case 10:
      return `${pick(rng, ["PASS", "PASS", "PASS", "FAIL"])} ${f().replace(/\.\w+$/, ".test.ts")} (${(rng() * 20).toFixed(3)} s)`;
    case 11:
      return `added ${int(rng, 1, 1500)} packages, and audited ${int(rng, 1500, 3000)} packages in ${int(rng, 2, 90)}s`;
    case 12:
      return `${ts} INFO  [main] c.a.${pick(rng, FILES)} - request id=${hex(rng, 16)} took ${int(rng, 1, 2000)}ms status=${pick(rng, [200, 200, 200, 201, 404, 500])}`;
    default:
      return "";
  }
}

/** About `bytes` of build output (whole lines), from `seed`. */
export function buildLog(seed: number, bytes: number): string {
  const rng = makeRng(seed);
  const out: string[] = [];
  let n = 0;
  let t = 0;
  let phase = 0;
  let left = 0;
  while (n < bytes) {
    if (left-- <= 0) {
      phase = int(rng, 0, PHASES.length - 1);
      left = int(rng, 20, 400);
    }
    t += int(rng, 0, 400);
    const l = line(rng, t, phase) + "\n";
    out.push(l);
    n += l.length;
  }
  return out.join("");
}
