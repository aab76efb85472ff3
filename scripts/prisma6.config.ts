// Dev-only: Prisma 6's CLI carries a WASM schema engine, so it can diff schemas offline
// through PGlite (Prisma 7's CLI wants a native engine binary it cannot download here).
// Used by scripts/migration-sql.mjs to write migrations and by the drift test.
import { PGlite } from "@electric-sql/pglite";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { defineConfig } from "prisma6/config";

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: process.env.PRISMA6_SCHEMA ?? "prisma/schema.prisma",
  adapter: async () => new PrismaPGlite(new PGlite("memory://")),
} as never);
