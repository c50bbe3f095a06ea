// Generates the typed gRPC stubs in packages/protocol/src/generated from
// proto/*.proto with proto-loader-gen-types (shipped by @grpc/proto-loader,
// so the build needs nothing outside `npm ci`). The flags here must match the
// options passed to loadSync in packages/protocol/src/grpc.ts.
import { execFileSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "packages/protocol/src/generated");
const require = createRequire(import.meta.url);
const bin = join(
  dirname(require.resolve("@grpc/proto-loader/package.json")),
  "build/bin/proto-loader-gen-types.js",
);
const protos = readdirSync(join(root, "proto")).filter((f) => f.endsWith(".proto"));

rmSync(out, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [
    bin,
    ...protos, // first: --includeDirs is an array option and would swallow them
    "--grpcLib=@grpc/grpc-js",
    "--longs=Number",
    "--enums=String",
    "--defaults",
    "--oneofs",
    "--targetFileExtension=.ts",
    "--importFileExtension=.js",
    `--outDir=${out}`,
    `--includeDirs=${join(root, "proto")}`,
  ],
  { stdio: "inherit" },
);
