#!/usr/bin/env node
// Node 20 cannot strip TypeScript types, so the CLI runs the sources through tsx's loader.
import { register } from "tsx/esm/api";

register();
await import("../src/cli.ts");
