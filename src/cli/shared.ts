import type { Config } from "../config.js";

/**
 * Loads the configuration for commands that run Hookgate's own code (serve, migrate, offline bootstrap);
 * a bad value prints the message that names the variable and exits 1. Imported lazily by the actions
 * that need it, so that `--help` never reads the environment.
 */
export async function loadCliConfig(): Promise<Config> {
  const { ConfigError, loadConfig } = await import("../config.js");
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`hookgate: invalid configuration: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
