// Prisma 6's CLI (dev dependency `prisma6`, the one whose schema engine runs offline) does not know
// partial indexes, which Prisma 7 writes as `@@index([...], where: raw("<predicate>"), map: "<name>")`
// under the `partialIndexes` preview feature. These two functions let the Prisma 6 tools
// (scripts/new-migration.mjs, test/support/prisma6.ts) read such a schema: the predicates are taken out
// of the copy Prisma 6 reads, and put back into the CREATE INDEX statements it writes.

const PARTIAL = /,\s*where:\s*raw\("((?:[^"\\]|\\.)*)"\)(\s*,\s*map:\s*"([^"]+)")?/g;

/** schema.prisma without partial-index predicates, and the predicates by index name. */
export function forPrisma6(schema) {
  const predicates = new Map();
  const out = schema
    .replace(PARTIAL, (_m, predicate, mapPart, name) => {
      if (!name)
        throw new Error(`a partial index needs an explicit map: "<name>" (where: raw("${predicate}"))`);
      predicates.set(name, predicate.replace(/\\(.)/g, "$1"));
      return mapPart;
    })
    .replace(/previewFeatures\s*=\s*\[([^\]]*)\]/, (_m, list) => {
      const rest = list
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s && s !== '"partialIndexes"');
      return `previewFeatures = [${rest.join(", ")}]`;
    });
  return { schema: out, predicates };
}

/** Puts the predicates back into Prisma 6's `CREATE INDEX "<name>" ON ...;` statements. */
export function withPredicates(sql, predicates) {
  let out = sql;
  for (const [name, predicate] of predicates) {
    const re = new RegExp(`(CREATE (?:UNIQUE )?INDEX "${name}" ON [^;]*?)\\s*;`);
    if (!re.test(out)) continue;
    out = out.replace(re, `$1 WHERE ${predicate};`);
  }
  return out;
}

/**
 * Prisma 6 does not see a partial index in a database either, so its diff from the migrations always
 * asks to create it again: those statements are dropped (a partial index's migration is hand-written,
 * and test/db/migrations.test.ts checks that the migrations produce it).
 */
export function withoutPartialIndexes(sql, predicates) {
  let out = sql;
  for (const name of predicates.keys()) {
    out = out.replace(
      new RegExp(
        `(-- (CreateIndex|DropIndex)\\n)?(CREATE (UNIQUE )?INDEX|DROP INDEX) "${name}"[^;]*;\\n?`,
        "g",
      ),
      "",
    );
  }
  return out.trim() ? out : "";
}
