import { defineConfig } from "vitest/config";

// Tests import sibling packages from their TypeScript sources (the "source"
// export condition), so `vitest` never needs a prior build; only the
// end-to-end tests, which spawn real `brook server` processes, need `tsc -b`.
export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"] } },
  test: {
    include: ["packages/*/test/**/*.test.ts", "test-e2e/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
  },
});
