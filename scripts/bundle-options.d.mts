// Types for scripts/bundle-options.mjs (plain JavaScript: scripts/build.mjs runs before any TypeScript loader).
import type { BuildOptions } from "esbuild";
export declare const EXTERNAL: string[];
export declare function bundleOptions(root: string, outDir: string): BuildOptions;
