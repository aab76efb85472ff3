import dns from "node:dns";
import net from "node:net";
import ipaddr from "ipaddr.js";
import { Agent, buildConnector } from "undici";
import type { Config } from "../config.js";

/**
 * Outbound URL policy: the defence against server-side request forgery.
 *
 * Two layers, because DNS answers change between the moment an endpoint is saved and the moment we deliver:
 * - checkEndpointUrl / resolveAndCheckUrl (create, update, replay) give the user an early, clear refusal;
 * - createPinnedDispatcher (every delivery) is authoritative: it checks the addresses a name resolves to at
 *   connect time and makes the socket connect to exactly the address it checked, so a second DNS answer
 *   (rebinding) can never slip in between the check and the connection.
 *
 * Decisions:
 * - Explicit ports are allowed (receivers often listen on 8443 and the like); what protects internal services
 *   is the address check, not the port. Port 0 is refused because nothing can be reached there.
 * - Fragments (#...) are refused: they are never sent over HTTP, so a URL carrying one does not mean what the
 *   user probably thinks it means.
 * - allowInsecure (development) permits http:// and loopback / private / unique-local targets. Link-local
 *   (cloud metadata at 169.254.169.254), unspecified (0.0.0.0 reaches the local host on Linux), multicast and
 *   the rest stay blocked even then; only allowedCidrs can open those.
 */

export const MAX_URL_LENGTH = 2048;

export interface UrlPolicy {
  /** Development only: allow http:// and loopback/private targets. */
  allowInsecure: boolean;
  /** CIDR ranges (or single addresses) that may be reached although they are not public, e.g. "10.20.0.0/16". */
  allowedCidrs: string[];
}

export type UrlCheckResult = { ok: true; url: URL } | { ok: false; message: string };

/** Same shape as dns.lookup / net's `lookup` option, so dns.lookup itself or a test double fits. */
export type LookupFn = (
  hostname: string,
  options: dns.LookupOptions,
  callback: (
    err: NodeJS.ErrnoException | null,
    address: string | dns.LookupAddress[],
    family?: number,
  ) => void,
) => void;

export class BlockedAddressError extends Error {
  readonly code = "HOOKGATE_BLOCKED_ADDRESS";
  constructor(
    readonly hostname: string,
    readonly address: string,
    readonly range: string,
  ) {
    const target = hostname === address ? address : `${hostname} (${address})`;
    super(`Refused to connect to ${target}: the address is in a blocked range (${range})`);
    this.name = "BlockedAddressError";
  }
}

/** Throws (naming the variable) when HOOKGATE_ALLOWED_CIDRS holds something that is not a CIDR. */
export function policyFromConfig(config: Pick<Config, "allowInsecureUrls" | "allowedCidrs">): UrlPolicy {
  const policy: UrlPolicy = {
    allowInsecure: config.allowInsecureUrls,
    allowedCidrs: [...config.allowedCidrs],
  };
  try {
    compiledCidrs(policy);
  } catch (err) {
    throw new Error(`HOOKGATE_ALLOWED_CIDRS: ${(err as Error).message}`);
  }
  return policy;
}

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

// Parsed once per allowedCidrs array: isBlockedAddress runs on every new delivery connection.
const cidrCache = new WeakMap<string[], Cidr[]>();

function compiledCidrs(policy: UrlPolicy): Cidr[] {
  let parsed = cidrCache.get(policy.allowedCidrs);
  if (!parsed) {
    parsed = policy.allowedCidrs.map(parseCidr);
    cidrCache.set(policy.allowedCidrs, parsed);
  }
  return parsed;
}

function parseCidr(raw: string): Cidr {
  const s = raw.trim();
  try {
    if (s.includes("/")) {
      const [addr, bits] = ipaddr.parseCIDR(s);
      return [unwrapMapped(addr), addr.kind() === "ipv6" && isMapped(addr) ? bits - 96 : bits];
    }
    const addr = ipaddr.process(s);
    return [addr, addr.kind() === "ipv4" ? 32 : 128];
  } catch {
    throw new Error(`"${raw}" is not a CIDR range such as 10.20.0.0/16 or fd00:1::/64`);
  }
}

function isMapped(addr: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  return addr.kind() === "ipv6" && (addr as ipaddr.IPv6).isIPv4MappedAddress();
}

function unwrapMapped(addr: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  return isMapped(addr) ? (addr as ipaddr.IPv6).toIPv4Address() : addr;
}

// ipaddr.js calls ::/96 (the deprecated IPv4-compatible form, e.g. [::127.0.0.1]) plain "unicast".
const IPV4_COMPATIBLE = ipaddr.parseCIDR("::/96");
const INSECURE_ALLOWED_RANGES = new Set(["loopback", "private", "uniqueLocal"]);

/**
 * The name of the blocked range `ip` falls in, or null when it may be contacted. Everything that ipaddr.js
 * does not call plain "unicast" is blocked; IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged as the IPv4 inside.
 */
export function isBlockedAddress(ip: string, policy: UrlPolicy): string | null {
  const bare = ip.startsWith("[") && ip.endsWith("]") ? ip.slice(1, -1) : ip;
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.process(bare);
  } catch {
    return "invalid";
  }
  for (const [base, bits] of compiledCidrs(policy)) {
    if (base.kind() === addr.kind() && addr.match(base as never, bits)) return null;
  }
  let range: string = addr.range();
  if (range === "unicast" && addr.kind() === "ipv6" && addr.match(IPV4_COMPATIBLE)) range = "ipv4Compatible";
  if (range === "unicast") return null;
  if (policy.allowInsecure && INSECURE_ALLOWED_RANGES.has(range)) return null;
  return range;
}

const RANGE_DESCRIPTIONS: Record<string, string> = {
  loopback: "a loopback address",
  private: "a private network address",
  uniqueLocal: "a private (unique local) IPv6 address",
  linkLocal: "a link-local address (this includes cloud metadata services)",
  carrierGradeNat: "a carrier-grade NAT address",
  unspecified: "an unspecified address",
  multicast: "a multicast address",
  broadcast: "the broadcast address",
  reserved: "a reserved address",
  invalid: "not a valid IP address",
};

const INSECURE_HINT =
  "For development, HOOKGATE_ALLOW_INSECURE_URLS=1 allows it; HOOKGATE_ALLOWED_CIDRS can allow its range.";
const CIDR_HINT = "HOOKGATE_ALLOWED_CIDRS can allow its range.";

/** The setting that would allow a blocked range, as a sentence for the refusal. */
function allowHint(range: string): string {
  if (range === "invalid") return "";
  return ` ${INSECURE_ALLOWED_RANGES.has(range) ? INSECURE_HINT : CIDR_HINT}`;
}

function describeRange(range: string): string {
  return RANGE_DESCRIPTIONS[range] ?? `a special-purpose address (${range})`;
}

// Names that always mean "this machine" (RFC 6761 reserves *.localhost) plus the usual /etc/hosts aliases.
function loopbackAllowed(policy: UrlPolicy): boolean {
  return isBlockedAddress("127.0.0.1", policy) === null || isBlockedAddress("::1", policy) === null;
}

function isLocalhostName(host: string): boolean {
  return (
    host === "localhost" ||
    host.endsWith(".localhost") ||
    host === "localhost.localdomain" ||
    host === "ip6-localhost" ||
    host === "ip6-loopback"
  );
}

function hostForChecks(url: URL): { host: string; ip: string | null } {
  // WHATWG URL has already lowercased, punycoded (IDN) and normalised odd IPv4 spellings to dotted decimal.
  const hostname = url.hostname;
  if (hostname.startsWith("[")) return { host: hostname, ip: hostname.slice(1, -1) };
  const host = hostname.replace(/\.+$/, "");
  return { host, ip: net.isIPv4(host) ? host : null };
}

function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** Synchronous checks for create/update/replay. Does no DNS; see resolveAndCheckUrl for that. */
export function checkEndpointUrl(raw: string, policy: UrlPolicy): UrlCheckResult {
  if (typeof raw !== "string" || raw.length === 0) return { ok: false, message: "The URL is required." };
  if (raw.length > MAX_URL_LENGTH) {
    return { ok: false, message: `The URL is too long: at most ${MAX_URL_LENGTH} characters are allowed.` };
  }
  // The URL parser silently drops these; refusing keeps the stored URL identical to what the user typed.
  if (raw.trim() !== raw || hasControlCharacter(raw)) {
    return { ok: false, message: "The URL must not contain control characters or leading/trailing spaces." };
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, message: "The URL is not a valid absolute URL (e.g. https://example.com/webhooks)." };
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && policy.allowInsecure)) {
    return {
      ok: false,
      message:
        url.protocol === "http:"
          ? "The URL must use https://; plain http:// is allowed only with HOOKGATE_ALLOW_INSECURE_URLS=1 (development)."
          : "The URL must use https://.",
    };
  }
  if (url.href.length > MAX_URL_LENGTH) {
    return { ok: false, message: `The URL is too long: at most ${MAX_URL_LENGTH} characters are allowed.` };
  }
  if (url.username !== "" || url.password !== "" || /^[a-z]+:\/\/[^/?#]*@/i.test(raw)) {
    return {
      ok: false,
      message: "The URL must not contain a user name or password; use a custom header such as Authorization.",
    };
  }
  if (url.href.includes("#")) {
    return { ok: false, message: "The URL must not contain a fragment (#...): fragments are never sent." };
  }
  if (url.port === "0") return { ok: false, message: "The URL's port must be between 1 and 65535." };

  const { host, ip } = hostForChecks(url);
  if (host === "") return { ok: false, message: "The URL must include a host name." };
  if (ip !== null) {
    const range = isBlockedAddress(ip, policy);
    if (range !== null) {
      return {
        ok: false,
        message: `The URL's host ${ip} is ${describeRange(range)}, which cannot be used.${allowHint(range)}`,
      };
    }
  } else if (isLocalhostName(host) && !loopbackAllowed(policy)) {
    // A localhost name is loopback whatever DNS says (RFC 6761), so it is open exactly when loopback is: in
    // development mode, or when HOOKGATE_ALLOWED_CIDRS covers it. The addresses it resolves to are then
    // checked like any name's (here for names that resolve, and again at every connection).
    return {
      ok: false,
      message: `The URL's host ${host} refers to this machine, which cannot be used.${allowHint("loopback")}`,
    };
  }
  return { ok: true, url };
}

const DEFAULT_RESOLVE_TIMEOUT_MS = 2000;

/**
 * checkEndpointUrl plus a DNS check for names. A name that resolves to any blocked address is refused; a
 * name that does not resolve right now (or too slowly) is ACCEPTED: DNS changes, creating endpoints must
 * work offline, and the delivery-time check (createPinnedDispatcher) is authoritative anyway.
 */
export async function resolveAndCheckUrl(
  raw: string,
  policy: UrlPolicy,
  lookup: LookupFn = dns.lookup,
  opts: { timeoutMs?: number } = {},
): Promise<UrlCheckResult> {
  const result = checkEndpointUrl(raw, policy);
  if (!result.ok) return result;
  const { host, ip } = hostForChecks(result.url);
  if (ip !== null) return result;

  const addresses = await lookupWithTimeout(lookup, host, opts.timeoutMs ?? DEFAULT_RESOLVE_TIMEOUT_MS);
  for (const address of addresses ?? []) {
    const range = isBlockedAddress(address, policy);
    if (range !== null) {
      return {
        ok: false,
        message: `The URL's host ${host} resolves to ${address}, ${describeRange(range)}, which cannot be used.${allowHint(range)}`,
      };
    }
  }
  return result;
}

/** All addresses, or null when the name did not resolve in time (any error counts as "did not resolve"). */
function lookupWithTimeout(lookup: LookupFn, host: string, timeoutMs: number): Promise<string[] | null> {
  return new Promise((resolve) => {
    // A lookup cannot be cancelled; the timer just stops waiting for it.
    const timer = setTimeout(() => resolve(null), timeoutMs);
    timer.unref();
    try {
      lookup(host, { all: true }, (err, address) => {
        clearTimeout(timer);
        if (err) return resolve(null);
        resolve(Array.isArray(address) ? address.map((a) => a.address) : [address]);
      });
    } catch {
      clearTimeout(timer);
      resolve(null);
    }
  });
}

export interface PinnedDispatcherOptions {
  lookup?: LookupFn;
  /** Max connections per origin (undici default: unlimited). */
  connections?: number;
  keepAliveTimeout?: number;
  connectTimeout?: number;
}

/**
 * An undici Agent for deliveries that only ever connects to addresses the policy allows. Names are resolved
 * by our own lookup, which refuses the whole name if ANY of its addresses is blocked (an attacker mixing a
 * public and a private answer gets nothing) and hands net.connect exactly the addresses it checked. Node
 * skips `lookup` for IP literals, so those are checked in a wrapper around the connector. Both checks run
 * only when a new connection is opened; keep-alive reuse costs nothing. undici's request() never follows
 * redirects and this dispatcher adds no redirect interceptor: a 3xx comes back as a 3xx.
 */
export function createPinnedDispatcher(policy: UrlPolicy, opts: PinnedDispatcherOptions = {}): Agent {
  compiledCidrs(policy); // a bad allowedCidrs entry should fail now, not on the first delivery
  const baseLookup: LookupFn = opts.lookup ?? dns.lookup;

  const checkedLookup: LookupFn = (hostname, options, callback) => {
    baseLookup(hostname, { ...options, all: true }, (err, address) => {
      if (err) return callback(err, []);
      const all: dns.LookupAddress[] = Array.isArray(address)
        ? address
        : [{ address, family: net.isIPv6(address) ? 6 : 4 }];
      if (all.length === 0) {
        const notFound: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        notFound.code = "ENOTFOUND";
        return callback(notFound, []);
      }
      for (const a of all) {
        const range = isBlockedAddress(a.address, policy);
        if (range !== null) return callback(new BlockedAddressError(hostname, a.address, range), []);
      }
      if (options.all) return callback(null, all);
      callback(null, all[0].address, all[0].family);
    });
  };

  const connector = buildConnector({ lookup: checkedLookup, timeout: opts.connectTimeout });
  const pinnedConnector: buildConnector.connector = (options, callback) => {
    // undici has already stripped the brackets from IPv6 literals here.
    if (net.isIP(options.hostname)) {
      const range = isBlockedAddress(options.hostname, policy);
      if (range !== null) {
        const err = new BlockedAddressError(options.hostname, options.hostname, range);
        process.nextTick(() => callback(err, null));
        return;
      }
    }
    connector(options, callback);
  };

  return new Agent({
    connect: pinnedConnector,
    ...(opts.connections !== undefined ? { connections: opts.connections } : {}),
    ...(opts.keepAliveTimeout !== undefined ? { keepAliveTimeout: opts.keepAliveTimeout } : {}),
  });
}
