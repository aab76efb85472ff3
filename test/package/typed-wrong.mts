// Must NOT compile: proves the declarations are real types, not `any`.
import { createHookgateClient } from "hookgate/client";

export async function misuse(): Promise<number> {
  const client = createHookgateClient({ url: "http://127.0.0.1:4000", apiKey: "hk_x" });
  const res = await client.Viewer();
  const scopes: number = res.viewer.scopes;
  return scopes;
}
