// Types for scripts/dist-stamp.mjs (plain JavaScript: bin/hookgate.js imports it before any TypeScript loader).
export declare const STAMP_FILE: string;
type BuildState = "current" | "stale" | "missing";
export interface Stamp {
  sourceHash: string;
  /** Digest of the hashed files' sizes, inodes, mtimes and ctimes, taken before the hash. */
  stats?: string;
  /** When the stats were taken (ms since the epoch). */
  statAt?: number;
  builtAt?: string;
}
export declare function hashedFiles(root: string): string[];
export declare function sourceHash(root: string): string;
export declare function sourceStats(root: string): { key: string; newestMs: number };
export declare function stampFor(root: string): Required<Omit<Stamp, "builtAt">>;
export declare function writeStamp(outDir: string, stamp: Stamp): void;
export declare function readStamp(outDir: string): Stamp | undefined;
export declare function buildState(root: string, outDir?: string): BuildState;
export declare function checkBuild(root: string, outDir?: string): { state: BuildState; hashed: boolean };
