// `node --import ./register.mjs ...`: installs hooks.mjs, which records every module the process resolves.
import { register } from "node:module";

register("./hooks.mjs", import.meta.url);
