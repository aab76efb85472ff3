// Types for scripts/dist-stamp.mjs (plain JavaScript: bin/hookgate.js imports it before any TypeScript loader).
export declare const STAMP_FILE: string;
export declare function hashedFiles(root: string): string[];
export declare function sourceHash(root: string): string;
export declare function readStamp(outDir: string): { sourceHash: string; builtAt?: string } | undefined;
export declare function buildState(root: string, outDir?: string): "current" | "stale" | "missing";
