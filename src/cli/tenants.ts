import type { Command } from "commander";
import { type ClientOptions, clientCommand, payload, printRows, withClient } from "./client.js";
import { collect, type ListOptions, listCommand } from "./paging.js";

export function registerTenants(program: Command): void {
  const tenants = program.command("tenants").description("tenants (sub-accounts) of a running Hookgate");
  listCommand(
    clientCommand(tenants.command("list").description("the caller's tenant and every tenant below it")),
  ).action((opts: ListOptions) =>
    withClient(opts, async (client) => {
      const rows = await collect(opts, "tenants", 100, async (first, after) => {
        return (await client.Tenants({ first, after })).tenants;
      });
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
