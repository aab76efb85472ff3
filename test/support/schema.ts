/**
 * A comparable description of a database's `public` schema, read from pg_catalog: tables,
 * columns (type with precision, nullability, default, identity/generated), enums with their
 * labels in order, indexes (pg_get_indexdef), constraints (pg_get_constraintdef: PK, FK with
 * actions, unique, check, not-null), sequences, views, triggers and extensions.
 * Column order is ignored (ALTER TABLE ... ADD COLUMN appends, Prisma's CREATE TABLE does not).
 */
import type { Database } from "../../src/db/database.js";

export interface ColumnDescription {
  type: string;
  notNull: boolean;
  default: string | null;
  identity: string;
  generated: string;
  collation: string | null;
}

export interface TableDescription {
  columns: Record<string, ColumnDescription>;
  /** index name → definition */
  indexes: Record<string, string>;
  /** constraint name → "<contype> <definition>" */
  constraints: Record<string, string>;
  /** trigger name → definition */
  triggers: Record<string, string>;
}

export interface SchemaDescription {
  tables: Record<string, TableDescription>;
  enums: Record<string, string[]>;
  sequences: string[];
  views: Record<string, string>;
  extensions: string[];
}

const IGNORED_TABLES = new Set(["_prisma_migrations"]);

export async function describeSchema(db: Database, schema = "public"): Promise<SchemaDescription> {
  const out: SchemaDescription = { tables: {}, enums: {}, sequences: [], views: {}, extensions: [] };
  const table = (name: string): TableDescription | undefined => out.tables[name];

  const tables = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY 1`,
    [schema],
  );
  for (const { name } of tables) {
    if (!IGNORED_TABLES.has(name))
      out.tables[name] = { columns: {}, indexes: {}, constraints: {}, triggers: {} };
  }

  const columns = await db.query<{
    tbl: string;
    col: string;
    type: string;
    not_null: boolean;
    def: string | null;
    identity: string;
    generated: string;
    collation: string | null;
  }>(
    `SELECT c.relname AS tbl, a.attname AS col, format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS def,
            a.attidentity::text AS identity, a.attgenerated::text AS generated,
            CASE WHEN a.attcollation <> t.typcollation THEN co.collname END AS collation
     FROM pg_attribute a
     JOIN pg_class c ON c.oid = a.attrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_type t ON t.oid = a.atttypid
     LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     LEFT JOIN pg_collation co ON co.oid = a.attcollation
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped`,
    [schema],
  );
  for (const c of columns) {
    const t = table(c.tbl);
    if (!t) continue;
    t.columns[c.col] = {
      type: c.type,
      notNull: c.not_null,
      default: c.def,
      identity: c.identity,
      generated: c.generated,
      collation: c.collation,
    };
  }

  const indexes = await db.query<{ tbl: string; name: string; def: string }>(
    `SELECT c.relname AS tbl, i.relname AS name, pg_get_indexdef(x.indexrelid) AS def
     FROM pg_index x
     JOIN pg_class c ON c.oid = x.indrelid
     JOIN pg_class i ON i.oid = x.indexrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1`,
    [schema],
  );
  for (const i of indexes) {
    const t = table(i.tbl);
    if (t) t.indexes[i.name] = i.def;
  }

  const constraints = await db.query<{ tbl: string; name: string; type: string; def: string }>(
    `SELECT c.relname AS tbl, k.conname AS name, k.contype::text AS type, pg_get_constraintdef(k.oid) AS def
     FROM pg_constraint k
     JOIN pg_class c ON c.oid = k.conrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1`,
    [schema],
  );
  for (const k of constraints) {
    const t = table(k.tbl);
    if (t) t.constraints[k.name] = `${k.type} ${k.def}`;
  }

  const triggers = await db.query<{ tbl: string; name: string; def: string }>(
    `SELECT c.relname AS tbl, g.tgname AS name, pg_get_triggerdef(g.oid) AS def
     FROM pg_trigger g
     JOIN pg_class c ON c.oid = g.tgrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND NOT g.tgisinternal`,
    [schema],
  );
  for (const g of triggers) {
    const t = table(g.tbl);
    if (t) t.triggers[g.name] = g.def;
  }

  const enums = await db.query<{ name: string; label: string }>(
    `SELECT t.typname AS name, e.enumlabel AS label
     FROM pg_type t
     JOIN pg_namespace n ON n.oid = t.typnamespace
     JOIN pg_enum e ON e.enumtypid = t.oid
     WHERE n.nspname = $1
     ORDER BY t.typname, e.enumsortorder`,
    [schema],
  );
  for (const e of enums) {
    out.enums[e.name] = [...(out.enums[e.name] ?? []), e.label];
  }

  const rels = await db.query<{ name: string; kind: string; def: string | null }>(
    `SELECT c.relname AS name, c.relkind::text AS kind,
            CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS def
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relkind IN ('S', 'v', 'm') ORDER BY 1`,
    [schema],
  );
  for (const r of rels) {
    if (r.kind === "S") out.sequences.push(r.name);
    else out.views[r.name] = `${r.kind} ${r.def}`;
  }

  const extensions = await db.query<{ name: string }>(
    `SELECT extname AS name FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1`,
  );
  out.extensions = extensions.map((e) => e.name);
  return out;
}

/**
 * Human-readable differences between two descriptions ("tables.api_keys.columns.note: only in B"),
 * empty when they are equal.
 */
export function diffSchemas(a: unknown, b: unknown, at = ""): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => {
      const p = at ? `${at}.${k}` : k;
      if (!(k in b)) return [`${p}: only in A`];
      if (!(k in a)) return [`${p}: only in B`];
      return diffSchemas(a[k], b[k], p);
    });
  }
  return [`${at}: A=${JSON.stringify(a)} B=${JSON.stringify(b)}`];
}
