import type { Command } from "commander";
import { type ClientOptions, clientCommand, payload, printRows, withClient } from "./client.js";

export function registerTenants(program: Command): void {
  const tenants = program.command("tenants").description("tenants (sub-accounts) of a running Hookgate");
  clientCommand(tenants.command("list").description("the caller's tenant and every tenant below it"))
    .option("--first <n>", "page size (at most 100)", "100")
    .action((opts: ClientOptions & { first: string }) =>
      withClient(opts, async (client) => {
        const { tenants: page } = await client.Tenants({ first: Number(opts.first) });
        const rows = page.edges.map((e) => e.node);
        await printRows(opts, rows, ["id", "name", "parentId", "createdAt"]);
      }),
    );
  clientCommand(tenants.command("create").description("create a sub-account"))
    .requiredOption("--name <name>", "the tenant's name")
    .option("--parent <id>", "parent tenant (default: the key's tenant)")
    .action((opts: ClientOptions & { name: string; parent?: string }) =>
      withClient(opts, async (client) => {
        const res = await client.CreateTenant({ input: { name: opts.name, parentId: opts.parent } });
        const { tenant } = payload(res.createTenant, "CreateTenantPayload");
        await printRows(opts, [tenant], ["id", "name", "parentId", "createdAt"], tenant);
      }),
    );
}
