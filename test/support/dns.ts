import type { LookupAddress } from "node:dns";
import type { LookupFn } from "../../src/security/url-policy.js";

/**
 * A DNS resolver over a fixed zone, for App.dnsLookup / DispatcherOptions.lookup: no test touches
 * real DNS. Names are matched case-insensitively without a trailing dot; anything else is ENOTFOUND.
 * Answers asynchronously, as the real resolver does.
 */
export function zoneLookup(zone: Record<string, string[]>): LookupFn {
  return (hostname, options, callback) => {
    const addresses = zone[hostname.toLowerCase().replace(/\.$/, "")];
    setImmediate(() => {
      if (!addresses) {
        const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        err.code = "ENOTFOUND";
        return callback(err, []);
      }
      const all: LookupAddress[] = addresses.map((address) => ({
        address,
        family: address.includes(":") ? 6 : 4,
      }));
      if (options.all) callback(null, all);
      else callback(null, all[0]!.address, all[0]!.family);
    });
  };
}
