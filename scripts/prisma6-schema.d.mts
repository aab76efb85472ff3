// Types for scripts/prisma6-schema.mjs (plain JavaScript: scripts/new-migration.mjs runs without a TypeScript loader).
export declare function forPrisma6(schema: string): { schema: string; predicates: Map<string, string> };
export declare function withPredicates(sql: string, predicates: Map<string, string>): string;
export declare function withoutPartialIndexes(sql: string, predicates: Map<string, string>): string;
