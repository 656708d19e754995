import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import type { Plugin } from "graphql-yoga";
import { FlorUsageError } from "../errors.js";

/** The names of this machine's loopback interface that a browser sends as Host. */
const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "[::1]"];

/** Which Host header values a server answers. */
export interface HostFilter {
  allows(host: string | null): boolean;
}

/**
 * The Host header values a server answers, against DNS rebinding: a web page on an attacker's name that
 * resolves to 127.0.0.1 reaches the server as same-origin, but its requests carry the attacker's name as
 * Host. Served: the loopback names and, bound beyond loopback, this machine's own addresses (which no
 * one else's name can stand for), each with the server's port; and any name given with --allowed-host
 * or --public-url (with its port, or on any port when it has none, as behind a reverse proxy).
 */
export class AllowedHosts implements HostFilter {
  private readonly exact = new Set<string>();
  private readonly anyPort = new Set<string>();

  constructor(bindHost: string, port: number, named: readonly string[] = []) {
    const own = [...LOOPBACK_NAMES];
    const wildcard = bindHost === "0.0.0.0" || bindHost === "::";
    if (wildcard) own.push(...machineAddresses());
    else if (!LOOPBACK_NAMES.includes(bindHost)) own.push(isIP(bindHost) === 6 ? `[${bindHost}]` : bindHost);
    for (const name of own) this.exact.add(`${name.toLowerCase()}:${port}`);
    for (const host of named) {
      const { name, port: given } = splitHost(host);
      if (given === null) this.anyPort.add(name);
      else this.exact.add(`${name}:${given}`);
    }
  }

  /** Whether a request with this Host header is served. */
  allows(host: string | null): boolean {
    if (host === null) return false;
    let parsed: { name: string; port: string | null };
    try {
      parsed = splitHost(host);
    } catch {
      return false;
    }
    return this.anyPort.has(parsed.name) || (parsed.port !== null && this.exact.has(`${parsed.name}:${parsed.port}`));
  }

  /** The Host values served, for messages. */
  describe(): string[] {
    return [...this.exact, ...[...this.anyPort].map((name) => `${name} (any port)`)];
  }
}

/** The addresses of this machine's interfaces, as a Host header writes them. */
function machineAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((entries) =>
    (entries ?? []).map((entry) => (entry.family === "IPv6" ? `[${entry.address.replace(/%.*$/, "")}]` : entry.address)),
  );
}

/** A Host value (`name`, `name:port`, `[v6]`, `[v6]:port`) as its lower-cased name and its port. */
function splitHost(host: string): { name: string; port: string | null } {
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::(\d{1,5}))?$/i.exec(host.trim());
  if (match === null) throw new FlorUsageError(`"${host}" is not a host name, an address or either with :port`);
  return { name: match[1]!.toLowerCase(), port: match[2] ?? null };
}

/** Checks that a value of --allowed-host is a host name or address, with an optional port. */
export function checkedAllowedHost(host: string): string {
  splitHost(host);
  return host.trim().toLowerCase();
}

/** Refuses requests whose Host is not served, with HTTP 421, before anything else looks at them. */
export function hostCheck(hosts: HostFilter): Plugin {
  return {
    onRequest({ request, fetchAPI, endResponse }) {
      const host = request.headers.get("host");
      if (hosts.allows(host)) return;
      endResponse(
        new fetchAPI.Response(
          `421 Misdirected Request: flor serve does not answer for the host ${JSON.stringify(host)}; name it with --allowed-host (or --public-url) to serve it\n`,
          { status: 421, statusText: "Misdirected Request", headers: { "content-type": "text/plain; charset=utf-8" } },
        ),
      );
    },
  };
}
