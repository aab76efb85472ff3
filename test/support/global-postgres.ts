/**
 * vitest globalSetup of the "postgres" project: a PostgreSQL server and a migrated template
 * database, handed to the workers as `inject("hookgatePostgres")` (see test/support/db.ts).
 *
 * HOOKGATE_TEST_DATABASE_URL=postgresql://user@host:port/postgres uses that server (the user must
 * be allowed to CREATE/DROP DATABASE); otherwise a throwaway cluster is started and removed.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { startTestCluster, type TestCluster } from "../../scripts/postgres-cluster.js";
import { openDatabase } from "../../src/db/database.js";
import { migrate } from "../../src/db/migrate.js";
import type { TestPostgresInfo } from "./db.js";

async function admin(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function withDatabase(adminUrl: string, database: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const external = process.env.HOOKGATE_TEST_DATABASE_URL;
  let cluster: TestCluster | undefined;
  let adminUrl: string;
  let template: string | undefined;
  const teardown = async () => {
    try {
      if (template && external) {
        await admin(adminUrl, `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(template)} WITH (FORCE)`);
      }
    } finally {
      await cluster?.stop();
    }
  };
  try {
    if (external) {
      adminUrl = external;
    } else {
      cluster = await startTestCluster();
      adminUrl = cluster.adminUrl;
    }
    // Unique name: several runs may share one external server.
    template = `hg_template_${process.pid}_${randomBytes(3).toString("hex")}`;
    await admin(adminUrl, `CREATE DATABASE ${pg.escapeIdentifier(template)}`);
    const db = await openDatabase({ databaseUrl: withDatabase(adminUrl, template), poolSize: 1 });
    try {
      await migrate(db);
    } finally {
      // No session may stay connected to a template, or CREATE DATABASE ... TEMPLATE fails.
      await db.close();
    }
    const info: TestPostgresInfo = { adminUrl, template };
    project.provide("hookgatePostgres", info);
    if (process.env.HOOKGATE_TEST_VERBOSE) {
      console.log(
        `[postgres] ${external ? "external server" : "throwaway cluster"} ready in ${Date.now() - started} ms`,
      );
    }
  } catch (err) {
    await teardown().catch(() => {});
    throw err;
  }
  return teardown;
}
